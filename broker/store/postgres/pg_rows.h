// Row mapping shared by the PostgreSQL store's statement files. Internal to store/postgres.
#pragma once

#include <string>
#include <vector>

#include "broker/store/postgres/pg_conn.h"
#include "broker/store/store.h"

namespace jitb::store::pg {

#define PG_LEASE_SELECT                                                                    \
  "SELECT id, kind, ticket, grant_name, subject, state, issued_at, expires_at, ended_at, " \
  "reason, coalesce(jti,''), coalesce(serial,''), claims, review, caller_issuer, "         \
  "caller_claims FROM leases "

// One statement that ends leases (see migrations/0002_active_set.sql): `pick` is a DELETE from
// lease_active naming the leases to end; those still active get `set`; revoked certificates are
// remembered for the CRL and the KRL. Returns appendEnded's columns. Under READ COMMITTED two statements
// picking the same lease meet on its lease_active row: the second waits for the first to commit,
// then finds the row gone and skips it, so each lease is ended (and its job written) once.
// A macro so that the statement stays a literal (Conn::query caches by its address).
// PG_END_LEASES_AMONG also names where in `leases` the picked ones are (`among`, a condition
// on l): without it PostgreSQL joins the picked ids with every active lease, a scan of the whole
// table once many are picked (revoking one ticket's 100,000 leases took 1.1-1.3 s instead of
// 0.6 s with 2,000,000 ended leases of other tickets in the table).
#define PG_END_LEASES(pick, set) PG_END_LEASES_AMONG(pick, set, "true")
#define PG_END_LEASES_AMONG(pick, set, among)                                               \
  "WITH gone AS (" pick " RETURNING id), "                                                  \
  "ended AS (UPDATE leases l SET " set " FROM gone WHERE l.id = gone.id AND l.state = 0 "   \
  "AND " among " "                                                                          \
  "RETURNING l.id, l.kind, coalesce(l.serial, '') AS serial, coalesce(l.jti, '') AS jti, "  \
  "l.expires_at, l.ticket, l.subject, l.state), "                                           \
  "certs AS (INSERT INTO revoked_certificates (id, expires_at, kind) "                      \
  "SELECT id, expires_at, kind FROM ended WHERE kind IN (1, 2) AND state = 2) "             \
  "SELECT id, kind, serial, jti, expires_at, ticket, subject FROM ended"

// Opens a transaction that runs PG_END_LEASES, in the same round trip: its CTEs and the end
// trigger's transition table keep every ended lease, and past the default 4 MB of work_mem
// they spill to temporary files (16 MB written for one ticket's 100,000 leases, 50-90 ms of
// the statement's 650-750 ms). SET LOCAL ends with the transaction.
inline constexpr const char* kEndBegin = "BEGIN; SET LOCAL work_mem = '64MB'";

inline LeaseRow leaseFrom(const Result& r, int i) {
  LeaseRow l;
  l.id = r.text(i, 0);
  l.kind = static_cast<LeaseKind>(r.int64(i, 1));
  l.ticket = r.text(i, 2);
  l.grant = r.text(i, 3);
  l.subject = r.text(i, 4);
  l.state = static_cast<LeaseState>(r.int64(i, 5));
  l.issued_at = r.int64(i, 6);
  l.expires_at = r.int64(i, 7);
  l.ended_at = r.int64(i, 8);
  l.reason = r.text(i, 9);
  l.jti = r.text(i, 10);
  l.serial = r.text(i, 11);
  l.claims = r.text(i, 12);
  l.review = r.int64(i, 13) != 0;
  l.reviewed = r.int64(i, 13) == 2;
  l.caller_issuer = r.text(i, 14);
  l.caller_claims = r.text(i, 15);
  return l;
}

inline void appendEnded(const Result& r, std::vector<EndedLease>& out) {
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.text(i, 0), static_cast<LeaseKind>(r.int64(i, 1)), r.text(i, 2), r.text(i, 3),
                   r.int64(i, 4), r.text(i, 5), r.text(i, 6)});
}

}  // namespace jitb::store::pg
