#include "broker/store/postgres/pg_lease_counts.h"

namespace jitb::store::pg {

namespace {
// Why this holds under READ COMMITTED with any number of replicas: ON CONFLICT DO UPDATE locks
// the counter row and evaluates its WHERE against the row's latest committed version, not
// against the statement's snapshot. A concurrent insert that raised the count holds that lock
// until it commits or rolls back, so this one waits and then sees its outcome; two first
// inserts of one key meet on the primary key and the loser takes the update path. So at most
// `limit` increments of a key are ever committed at once, and no row back means the limit is
// reached. A plain read of the count (or a count(*) of the leases) would let every concurrent
// insert see the same value below the limit.
core::Status countOne(Conn& c, const char* scope, const std::string& key, int64_t limit) {
  if (limit <= 0) return quotaExceeded(scope, limit);  // the first row would start at 1
  auto r = c.query(
      "INSERT INTO lease_counts AS c (scope, key, n) VALUES ($1, $2, 1) "
      "ON CONFLICT (scope, key) DO UPDATE SET n = c.n + 1 WHERE c.n < $3 RETURNING n",
      {scope, key, limit}, "count lease");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return quotaExceeded(scope, limit);
  return core::okStatus();
}
}  // namespace

core::Status countActiveLease(Conn& c, const LeaseRow& l, const LeaseQuotas& quotas) {
  if (l.state != LeaseState::kActive) return core::okStatus();
  // Subject before ticket: the (scope, key) order in which ending leases lock the same rows.
  if (core::Status st = countOne(c, "subject", l.subject, quotas.per_subject); !st.ok()) return st;
  return countOne(c, "ticket", l.ticket, quotas.per_ticket);
}

}  // namespace jitb::store::pg
