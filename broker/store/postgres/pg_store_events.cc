// The revocation events (migrations/0012_revocation_events.sql): written by a trigger in the
// statement that ends leases, read here by the replicas' fan-out pollers.
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_store.h"

namespace jitb::store {

using pg::Conn;

core::StatusOr<std::vector<RevocationEvent>> PgStore::revocationEventsAfter(int64_t after_seq,
                                                                            int limit) {
  std::vector<RevocationEvent> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    out.clear();
    // `limit` counts events (statements), so one statement's leases are never split between
    // two reads; each lease's end comes from its row.
    auto r = c.query(
        "SELECT e.seq, l.id, l.kind, coalesce(l.serial, ''), coalesce(l.jti, ''), l.expires_at, "
        "l.ticket, l.subject, l.state, l.reason, l.ended_at, e.created_at "
        "FROM (SELECT seq, lease_ids, created_at FROM revocation_events WHERE seq > $1 "
        "ORDER BY seq LIMIT $2) e CROSS JOIN LATERAL unnest(e.lease_ids) AS u(id) "
        "JOIN lease_rows l ON l.id = u.id ORDER BY e.seq",
        {after_seq, limit}, "read revocation events");
    if (!r.ok()) return r.status();
    out.reserve(static_cast<size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
      RevocationEvent e;
      e.seq = r->int64(i, 0);
      e.lease = {r->text(i, 1), static_cast<LeaseKind>(r->int64(i, 2)), r->text(i, 3),
                 r->text(i, 4), r->int64(i, 5), r->text(i, 6), r->text(i, 7)};
      e.state = static_cast<LeaseState>(r->int64(i, 8));
      e.reason = r->text(i, 9);
      e.ended_at = r->int64(i, 10);
      e.created_at = r->int64(i, 11);
      out.push_back(std::move(e));
    }
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<int64_t> PgStore::revocationSeqBefore(int64_t created_before_ms) {
  return queryInt64("SELECT coalesce(max(seq), 0) FROM revocation_events WHERE created_at < $1",
                    {created_before_ms}, "find where revocation events start");
}

core::StatusOr<int64_t> PgStore::pruneRevocationEvents(int64_t created_before_ms) {
  // The table holds minutes of events: a scan is cheaper than one more index to maintain in
  // every revocation.
  return queryInt64(
      "WITH d AS (DELETE FROM revocation_events WHERE created_at < $1 RETURNING 1) "
      "SELECT count(*) FROM d",
      {created_before_ms}, "prune revocation events");
}

}  // namespace jitb::store
