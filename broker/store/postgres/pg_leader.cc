// The leader row (migration 0013_audit_leader_crl.sql).
#include "broker/store/postgres/pg_store.h"

namespace jitb::store {

core::StatusOr<Leadership> PgStore::claimLeadership(const std::string& replica, int64_t now,
                                                    int64_t lease_ms) {
  Leadership out;
  core::Status st = onConn([&](pg::Conn& c) -> core::Status {
    // One statement: the UPDATE re-checks its WHERE against the latest committed row, so of
    // two contenders for an expired row one takes it and the other finds it taken. The term
    // stays while the holder renews in time; any other take starts a new one.
    auto r = c.query(
        "UPDATE leader SET holder = $1, expires_at = $2::bigint + $3::bigint, "
        "term = CASE WHEN holder = $1 AND expires_at > $2::bigint THEN term ELSE term + 1 END "
        "WHERE id = 1 AND (expires_at <= $2::bigint OR holder = $1) "
        "RETURNING holder, term, expires_at",
        {replica, now, lease_ms}, "claim the leader row");
    if (!r.ok()) return r.status();
    if (r->rows() == 1) {
      out = {true, r->text(0, 0), r->int64(0, 1), r->int64(0, 2)};
      return core::okStatus();
    }
    auto held = c.query("SELECT holder, term, expires_at FROM leader WHERE id = 1", {},
                        "read the leader row");
    if (!held.ok()) return held.status();
    if (held->rows() == 1) out = {false, held->text(0, 0), held->int64(0, 1), held->int64(0, 2)};
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace jitb::store
