// Ending leases and the reads that rebuild state at start.
//
// Concurrency: every end is one statement (pg::endStatement) that deletes the leases' rows from
// lease_active and updates those still active. Under READ COMMITTED a DELETE that meets a row
// another transaction is deleting waits for it, then skips the row; so when two closes, or a
// close and the expiry sweep, race for a lease, exactly one of them ends it, gets it back and
// enqueues its one hook job. The *Audited forms append the records of what they ended to this
// replica's chain in the same transaction (auditEnds), after the end and before the commit.
#include <algorithm>
#include <unordered_map>

#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_store.h"

namespace jitb::store {

using pg::Conn;

core::StatusOr<std::vector<EndedLease>> PgStore::revokeTicket(const std::string& ticket,
                                                              const std::string& reason,
                                                              int64_t now) {
  return revokeTicketAudited(ticket, reason, now, {});
}

core::StatusOr<std::vector<EndedLease>> PgStore::revokeTicketAudited(const std::string& ticket,
                                                                     const std::string& reason,
                                                                     int64_t now,
                                                                     const EndAudit& audit) {
  if (core::Status st = auditKept(audit); !st.ok()) return st;
  std::vector<EndedLease> out;
  Appended appended;
  core::Status st = inTxn([&](Conn& c) -> core::Status {
    out.clear();
    auto r = c.query(PG_END_LEASES("DELETE FROM lease_active WHERE ticket = $3", "2",
                                   "$1::bigint", "$2::text"),
                     {now, reason, ticket}, "revoke ticket");
    if (!r.ok()) return r.status();
    pg::appendEnded(*r, out);
    if (auto j = enqueueJobs(c, out, reason, now); !j.ok()) return j;
    return auditEnds(c, audit, out, now, appended);
  }, pg::kEndBegin);
  if (!st.ok()) return st;
  copyAudit(std::move(appended));
  return out;
}

core::StatusOr<std::vector<EndedLease>> PgStore::endLeases(const std::vector<std::string>& ids,
                                                           LeaseState state,
                                                           const std::string& reason, int64_t now) {
  return endLeasesAudited(ids, state, reason, now, {});
}

core::StatusOr<std::vector<EndedLease>> PgStore::endLeasesAudited(
    const std::vector<std::string>& ids, LeaseState state, const std::string& reason, int64_t now,
    const EndAudit& audit) {
  if (core::Status st = auditKept(audit); !st.ok()) return st;
  std::vector<EndedLease> out;
  Appended appended;
  // No transaction for no ids, unless the caller has records to write all the same (a
  // summary of leases that all ended on their own meanwhile).
  if (ids.empty() && !audit) return out;
  core::Status st = inTxn([&](Conn& c) -> core::Status {
    out.clear();
    auto r = c.query(PG_END_LEASES("DELETE FROM lease_active WHERE id = ANY($4::text[])",
                                   "$1::smallint", "$2::bigint", "$3::text"),
                     {static_cast<int>(state), now, reason, pg::Param::array(ids)}, "end leases");
    if (!r.ok()) return r.status();
    pg::appendEnded(*r, out);
    // In the order of `ids`, as the SQLite store returns them.
    std::unordered_map<std::string, size_t> pos;
    for (size_t i = 0; i < ids.size(); ++i) pos.emplace(ids[i], i);
    std::sort(out.begin(), out.end(),
              [&](const EndedLease& a, const EndedLease& b) { return pos[a.id] < pos[b.id]; });
    core::Status jobs = state != LeaseState::kRevoked ? enqueueDatabaseJobs(c, out, reason, now)
                                                      : enqueueJobs(c, out, reason, now);
    if (!jobs.ok()) return jobs;
    return auditEnds(c, audit, out, now, appended);
  }, pg::kEndBegin);
  if (!st.ok()) return st;
  copyAudit(std::move(appended));
  return out;
}

core::StatusOr<std::vector<EndedLease>> PgStore::expireDue(int64_t now) {
  return expireDueAudited(now, {});
}

core::StatusOr<std::vector<EndedLease>> PgStore::expireDueAudited(int64_t now,
                                                                  const EndAudit& audit) {
  if (core::Status st = auditKept(audit); !st.ok()) return st;
  std::vector<EndedLease> out;
  Appended appended;
  // A transaction: an expired database lease's role revocation is written with its end.
  core::Status st = inTxn([&](Conn& c) -> core::Status {
    out.clear();
    auto r = c.query(PG_END_LEASES("DELETE FROM lease_active WHERE expires_at <= $1", "1",
                                   "$1::bigint", "'ttl'"),
                     {now}, "expire leases");
    if (!r.ok()) return r.status();
    pg::appendEnded(*r, out);
    if (auto j = enqueueDatabaseJobs(c, out, "ttl", now); !j.ok()) return j;
    return auditEnds(c, audit, out, now, appended);
  }, pg::kEndBegin);
  if (!st.ok()) return st;
  copyAudit(std::move(appended));
  return out;
}

core::Status PgStore::auditKept(const EndAudit& audit) const {
  if (audit && audit_replica_.empty())
    return core::Status(core::Code::kInternal, "this store does not keep the audit log");
  return core::okStatus();
}

core::Status PgStore::auditEnds(Conn& c, const EndAudit& audit,
                                const std::vector<EndedLease>& ended, int64_t now,
                                Appended& out) {
  if (!audit) return core::okStatus();
  out.bodies = audit(ended);  // anew on a rerun: the last attempt's are the ones committed
  return pg::appendAudit(c, audit_replica_, out.bodies, now, &out.head);
}

void PgStore::copyAudit(Appended appended) {
  if (appended.bodies.empty()) return;
  noteAuditHead(std::move(appended.head));
  if (audit_copy_) audit_copy_(std::move(appended.bodies));
}

core::Status PgStore::forEachActive(const std::function<void(const LeaseRow&)>& fn) {
  // Pages by id inside one REPEATABLE READ snapshot: one consistent set, like SQLite's single
  // read, without holding a million rows in one result. An active lease has no end, so its
  // `leases` row is the whole lease. Both sides bounded by `after`: PostgreSQL merges the two
  // keys' order from there (3 ms a page); as `id IN (page of lease_active)` it hash-joined the
  // page with a scan of all of `leases` (33 s instead of 2 s for 1,000,000 leases).
  constexpr int kPage = 5000;
  return inTxn([&](Conn& c) -> core::Status {
    if (auto st = c.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", "snapshot");
        !st.ok())
      return st;
    std::string after;
    for (;;) {
      auto r = c.query(PG_LEASE_COLUMNS("l.") "FROM lease_active a JOIN leases l ON l.id = a.id "
                       "WHERE a.id > $1 AND l.id > $1 ORDER BY a.id LIMIT $2",
                       {after, kPage}, "scan active leases");
      if (!r.ok()) return r.status();
      for (int i = 0; i < r->rows(); ++i) fn(pg::leaseFrom(*r, i));
      if (r->rows() < kPage) return core::okStatus();
      after = r->text(r->rows() - 1, 0);
    }
  });
}

core::StatusOr<std::vector<LeaseRow>> PgStore::revokedUnexpiredCertificates(int64_t now) {
  std::vector<LeaseRow> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(PG_LEASE_SELECT
                     "WHERE id IN (SELECT id FROM revoked_certificates "
                     "WHERE kind = 1 AND expires_at > $1)",
                     {now}, "revoked certificates");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) out.push_back(pg::leaseFrom(*r, i));
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<std::vector<LeaseRow>> PgStore::revokedUnexpiredSsh(int64_t now) {
  std::vector<LeaseRow> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(PG_LEASE_SELECT
                     "WHERE id IN (SELECT id FROM revoked_certificates "
                     "WHERE kind = 2 AND expires_at > $1)",
                     {now}, "revoked SSH certificates");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) out.push_back(pg::leaseFrom(*r, i));
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<std::vector<ActiveTicket>> PgStore::activeTickets() {
  std::vector<ActiveTicket> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "SELECT a.ticket, coalesce(t.state, 'unknown'), coalesce(t.window_end, 0) "
        "FROM (SELECT DISTINCT ticket FROM lease_active WHERE ticket <> '') a "  // not operators'
        "LEFT JOIN tickets t ON t.id = a.ticket",
        {}, "active tickets");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i)
      out.push_back({r->text(i, 0), r->text(i, 1), r->int64(i, 2)});
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<bool> PgStore::markReviewed(const std::string& id) {
  bool changed = false, exists = false;
  // One statement: two admins marking the same review at once see one change between them.
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "WITH u AS (UPDATE leases SET review = 2 WHERE id = $1 AND review = 1 RETURNING id) "
        "SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM leases WHERE id = $1 AND "
        "review <> 0)",
        {id}, "mark reviewed");
    if (!r.ok()) return r.status();
    changed = r->int64(0, 0) > 0;
    exists = r->int64(0, 1) > 0;
    return core::okStatus();
  });
  if (!st.ok()) return st;
  if (!changed && !exists) return core::notFound("no break-glass lease " + id);
  return changed;
}

}  // namespace jitb::store
