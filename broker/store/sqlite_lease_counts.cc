#include "broker/store/sqlite_lease_counts.h"

namespace jitb::store {

namespace {
// One conditional increment: the row is created at 1, or raised when below the limit. No row
// back means the limit is reached. The store's single writer runs it, so the read of n and its
// write cannot interleave with another insert's.
core::Status countOne(SqliteConn& c, const char* scope, const std::string& key, int64_t limit) {
  if (limit <= 0) return quotaExceeded(scope, limit);  // the first row would start at 1
  Stmt s(c.prepare(
      "INSERT INTO lease_counts (scope, key, n) VALUES (?1, ?2, 1) "
      "ON CONFLICT (scope, key) DO UPDATE SET n = lease_counts.n + 1 "
      "WHERE lease_counts.n < ?3 RETURNING n"));
  s.bind(1, scope).bind(2, key).bind(3, limit);
  int rc = s.step();
  if (rc == SQLITE_DONE) return quotaExceeded(scope, limit);
  if (rc != SQLITE_ROW) return c.error(rc, "count lease");
  // The statement completes only when stepped to its end.
  if (int end = s.step(); end != SQLITE_DONE) return c.error(end, "count lease");
  return core::okStatus();
}
}  // namespace

core::Status countActiveLease(SqliteConn& c, const LeaseRow& l, const LeaseQuotas& quotas) {
  if (l.state != LeaseState::kActive) return core::okStatus();
  if (core::Status st = countOne(c, "subject", l.subject, quotas.per_subject); !st.ok()) return st;
  return countOne(c, "ticket", l.ticket, quotas.per_ticket);
}

}  // namespace jitb::store
