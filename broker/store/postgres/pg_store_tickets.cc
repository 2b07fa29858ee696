// Ticket writes with their effect on the ticket's leases, review marks and window ends.
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_store.h"
#include "broker/store/ticket_order.h"

namespace jitb::store {

using pg::Conn;

core::StatusOr<TicketApplied> PgStore::applyTicket(const TicketRow& row,
                                                   const TicketEffect& effect) {
  TicketApplied out;
  // The review mark's new value, or -1 to keep it (a plain write).
  int mark = -1;
  if (effect.kind == TicketEffect::Kind::kRevokeAll) mark = 0;
  if (effect.kind == TicketEffect::Kind::kReview) mark = 1;
  // The records committed, for the copy: the event's, then those of the leases it ended.
  Appended appended;
  core::Status st = inTxn([&](Conn& c) -> core::Status {
    out = TicketApplied{};
    appended.bodies.clear();
    // FOR UPDATE: the decision below reads the stored state, so the row must not change before
    // this transaction writes; concurrent deliveries of one ticket queue here and each decides
    // against what the previous one committed. The lock also orders this write against lease
    // inserts, which read the ticket FOR SHARE: an insert that holds it commits first and the
    // revocation below (a later statement, so a later snapshot) sees its lease; one that comes
    // after waits for this commit and reads the new state.
    bool written = false;
    for (int tries = 0; tries < 2 && !written; ++tries) {
      auto q = c.query("SELECT state, updated_at FROM tickets WHERE id = $1 FOR UPDATE", {row.id},
                       "read ticket");
      if (!q.ok()) return q.status();
      if (q->rows() == 0) {
        // No row to lock: the insert decides. A concurrent first insert makes it do nothing;
        // the loop then locks the row that insert committed and decides again.
        auto ins = c.query(
            "INSERT INTO tickets (id, state, updated_at, window_end, json, received_at, "
            "review_pending) VALUES ($1, $2, $3, $4, $5, $6, greatest($7::smallint, 0)) "
            "ON CONFLICT (id) DO NOTHING RETURNING 1",
            {row.id, row.state, row.updated_at, row.window_end, row.json, row.received_at, mark},
            "write ticket");
        if (!ins.ok()) return ins.status();
        written = ins->rows() == 1;
        continue;
      }
      out.write = ticketWriteOutcome(q->text(0, 0), q->int64(0, 1), row);
      if (out.write != TicketWrite::kApplied) return core::okStatus();
      auto up = c.query(
          "UPDATE tickets SET state = $2, updated_at = $3, window_end = $4, json = $5, "
          "received_at = $6, review_pending = CASE WHEN $7::smallint < 0 THEN review_pending "
          "ELSE $7::smallint END WHERE id = $1",
          {row.id, row.state, row.updated_at, row.window_end, row.json, row.received_at, mark},
          "write ticket");
      if (!up.ok()) return up.status();
      written = true;
    }
    if (!written) return core::unavailable("the ticket changed while being written; try again");
    out.write = TicketWrite::kApplied;
    if (effect.kind == TicketEffect::Kind::kRevokeAll) {
      auto r = c.query(
          PG_END_LEASES("DELETE FROM lease_active WHERE ticket = $3", "2", "$1::bigint",
                        "$2::text"),
          {effect.now, effect.reason, row.id}, "revoke ticket");
      if (!r.ok()) return r.status();
      pg::appendEnded(*r, out.ended);
      if (auto j = enqueueJobs(c, out.ended, effect.reason, effect.now); !j.ok()) return j;
    }
    if (audit_replica_.empty()) return core::okStatus();
    // One append after the end: it locks the chain's head, which every transaction takes after
    // the quota counts (insert_leases, the end's trigger); appended before the end, a close
    // would hold the head while its trigger waited for a count row that a lease group held
    // while waiting for the head.
    if (!effect.audit_applied.empty()) appended.bodies.push_back(effect.audit_applied);
    if (effect.audit_ended && effect.kind == TicketEffect::Kind::kRevokeAll) {
      std::vector<std::string> ends = effect.audit_ended(out.ended);
      appended.bodies.insert(appended.bodies.end(), std::make_move_iterator(ends.begin()),
                             std::make_move_iterator(ends.end()));
    }
    return pg::appendAudit(c, audit_replica_, appended.bodies, row.received_at, &appended.head);
  }, pg::kEndBegin);
  if (!st.ok()) return st;
  if (out.write == TicketWrite::kApplied) copyAudit(std::move(appended));
  return out;
}

core::Status PgStore::finishReview(const std::string& ticket, int64_t updated_at) {
  // One UPDATE: its WHERE is re-checked against a concurrent write's committed row, so a mark
  // set by a newer write (a different updated_at) is never cleared.
  return onConn([&](Conn& c) {
    return c
        .query("UPDATE tickets SET review_pending = 0 "
               "WHERE id = $1 AND updated_at = $2 AND review_pending = 1",
               {ticket, updated_at}, "finish review")
        .status();
  });
}

core::StatusOr<std::vector<TicketRow>> PgStore::pendingReviews(int64_t received_before,
                                                               int limit) {
  std::vector<TicketRow> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "SELECT id, state, updated_at, window_end, json, received_at FROM tickets "
        "WHERE review_pending = 1 AND received_at <= $1 ORDER BY received_at LIMIT $2",
        {received_before, limit}, "pending reviews");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i)
      out.push_back(TicketRow{r->text(i, 0), r->text(i, 1), r->int64(i, 2), r->int64(i, 3),
                              r->text(i, 4), r->int64(i, 5)});
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<std::vector<EndedLease>> PgStore::endWindowsDue(int64_t after, int64_t now) {
  return endWindowsDueAudited(after, now, {});
}

core::StatusOr<std::vector<EndedLease>> PgStore::endWindowsDueAudited(int64_t after, int64_t now,
                                                                      const EndAudit& audit) {
  if (core::Status st = auditKept(audit); !st.ok()) return st;
  std::vector<EndedLease> out;
  Appended appended;
  // FOR SHARE on the tickets: a write extending one of them (applyTicket holds it FOR UPDATE)
  // commits first, and the locking read then re-checks the window against the committed row,
  // so an extension is never overtaken. Replicas polling together share the lock; their lease
  // lease ends meet on the lease_active rows (pg::PG_END_LEASES), so exactly one ends each
  // lease and writes its one hook job.
  core::Status st = inTxn([&](Conn& c) -> core::Status {
    out.clear();
    auto r = c.query(
        PG_END_LEASES("DELETE FROM lease_active WHERE ticket IN (SELECT id FROM tickets "
                      "WHERE window_end > $2 AND window_end <= $1 FOR SHARE)",
                      "2", "$1::bigint", "'window_ended'"),
        {now, after}, "end windows");
    if (!r.ok()) return r.status();
    pg::appendEnded(*r, out);
    if (auto j = enqueueJobs(c, out, "window_ended", now); !j.ok()) return j;
    return auditEnds(c, audit, out, now, appended);
  }, pg::kEndBegin);
  if (!st.ok()) return st;
  copyAudit(std::move(appended));
  return out;
}

}  // namespace jitb::store
