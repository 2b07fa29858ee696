// Ticket writes with their effect on the ticket's leases, review marks and window ends.
//
// Each is one operation of the writer thread, so it commits in one transaction (the group
// commit's, inside a savepoint of its own): the ticket's write and the lease ends it implies
// are never split by a crash or a failure. SQLite has a single writer, so the read that decides
// and the writes that follow cannot interleave with another write.
#include "broker/store/sqlite_conn.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/ticket_order.h"

namespace jitb::store {

core::StatusOr<TicketApplied> SqliteStore::applyTicket(const TicketRow& row,
                                                       const TicketEffect& effect) {
  TicketApplied out;
  core::Status st = write([&](SqliteConn& c) -> core::Status {
    out = TicketApplied{};
    {
      Stmt q(c.prepare("SELECT state, updated_at FROM tickets WHERE id = ?"));
      q.bind(1, row.id);
      int rc = q.step();
      if (rc == SQLITE_ROW) {
        out.write = ticketWriteOutcome(q.text(0), q.int64(1), row);
        if (out.write != TicketWrite::kApplied) return core::okStatus();
      } else if (rc != SQLITE_DONE) {
        return c.error(rc, "read ticket");
      }
    }
    // An upsert rather than a replace, so that a plain write keeps the review mark. ?7: the
    // mark's new value, or -1 to keep it.
    Stmt s(c.prepare(
        "INSERT INTO tickets (id, state, updated_at, window_end, json, received_at, "
        "review_pending) VALUES (?1, ?2, ?3, ?4, ?5, ?6, max(?7, 0)) "
        "ON CONFLICT(id) DO UPDATE SET state = ?2, updated_at = ?3, window_end = ?4, json = ?5, "
        "received_at = ?6, review_pending = CASE WHEN ?7 < 0 THEN review_pending ELSE ?7 END"));
    int64_t mark = -1;
    if (effect.kind == TicketEffect::Kind::kRevokeAll) mark = 0;
    if (effect.kind == TicketEffect::Kind::kReview) mark = 1;
    s.bind(1, row.id).bind(2, row.state).bind(3, row.updated_at).bind(4, row.window_end);
    s.bind(5, row.json).bind(6, row.received_at).bind(7, mark);
    if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write ticket");
    if (effect.kind != TicketEffect::Kind::kRevokeAll) return core::okStatus();
    Stmt end(c.prepare("UPDATE leases SET state = 2, ended_at = ?, reason = ? "
                       "WHERE ticket = ? AND state = 0 RETURNING id, kind, coalesce(serial,''), "
                       "coalesce(jti,''), expires_at, ticket, subject"));
    end.bind(1, effect.now).bind(2, effect.reason).bind(3, row.id);
    return endReturning(c, end, effect.reason, effect.now, out.ended);
  });
  if (!st.ok()) return st;
  return out;
}

core::Status SqliteStore::finishReview(const std::string& ticket, int64_t updated_at) {
  return write(
      [&](SqliteConn& c) {
        Stmt s(c.prepare("UPDATE tickets SET review_pending = 0 "
                         "WHERE id = ? AND updated_at = ? AND review_pending = 1"));
        s.bind(1, ticket).bind(2, updated_at);
        int rc = s.step();
        return rc == SQLITE_DONE ? core::okStatus() : c.error(rc, "finish review");
      },
      true);
}

core::StatusOr<std::vector<TicketRow>> SqliteStore::pendingReviews(int64_t received_before,
                                                                   int limit) {
  auto r = reader();
  if (!r.ok()) return core::unavailable("the store cannot open a reader");
  Stmt s(r->prepare(
      "SELECT id, state, updated_at, window_end, json, received_at FROM tickets "
      "WHERE review_pending = 1 AND received_at <= ? ORDER BY received_at LIMIT ?"));
  s.bind(1, received_before).bind(2, static_cast<int64_t>(limit));
  std::vector<TicketRow> out;
  for (;;) {
    int rc = s.step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return r->error(rc, "pending reviews");
    out.push_back(TicketRow{s.text(0), s.text(1), s.int64(2), s.int64(3), s.text(4), s.int64(5)});
  }
}

core::StatusOr<std::vector<EndedLease>> SqliteStore::endWindowsDue(int64_t after, int64_t now) {
  std::vector<EndedLease> out;
  core::Status st = write([&](SqliteConn& c) {
    out.clear();
    // The tickets by their window_end index, then each one's active leases by theirs.
    Stmt s(c.prepare("UPDATE leases SET state = 2, ended_at = ?1, reason = 'window_ended' "
                     "WHERE state = 0 AND ticket IN (SELECT id FROM tickets "
                     "WHERE window_end > ?2 AND window_end <= ?1) RETURNING id, kind, "
                     "coalesce(serial,''), coalesce(jti,''), expires_at, ticket, subject"));
    s.bind(1, now).bind(2, after);
    return endReturning(c, s, "window_ended", now, out);
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace jitb::store
