// Row mapping shared by the PostgreSQL store's statement files. Internal to store/postgres.
#pragma once

#include <string>
#include <vector>

#include "broker/store/postgres/pg_conn.h"
#include "broker/store/store.h"

namespace jitb::store::pg {

// A lease's columns in leaseFrom's order, each prefixed by `t` (a table alias and a dot, or "").
#define PG_LEASE_COLUMNS(t)                                                                     \
  "SELECT " t "id, " t "kind, " t "ticket, " t "grant_name, " t "subject, " t "state, " t        \
  "issued_at, " t "expires_at, " t "ended_at, " t "reason, coalesce(" t "jti,''), coalesce(" t \
  "serial,''), " t "claims, " t "review, " t "caller_issuer, " t "caller_claims "

// A lease as it is now: leases with its end, if any (migrations/0016_lease_ends.sql).
#define PG_LEASE_SELECT PG_LEASE_COLUMNS("") "FROM lease_rows "

// One statement that ends leases (see migrations/0002_active_set.sql and 0016_lease_ends.sql):
// `pick` is a DELETE from lease_active naming the leases to end; each deleted row is an active
// lease, which gets its end (`state`, `ended_at`, `reason`: SQL expressions) in lease_ends;
// revoked certificates are remembered for the CRL and the KRL. Nothing of `leases` is read or
// written. Returns appendEnded's columns. Under READ COMMITTED two statements picking the same
// lease meet on its lease_active row: the second waits for the first to commit, then finds the
// row gone and skips it, so each lease is ended (and its job written) once; a second end of
// one lease would also collide on lease_ends' key rather than pass.
// A macro so that the statement stays a literal (Conn::query caches by its address).
#define PG_END_LEASES(pick, state, ended_at, reason)                                      \
  "WITH gone AS (" pick " RETURNING id, kind, coalesce(serial, '') AS serial, "            \
  "coalesce(jti, '') AS jti, expires_at, ticket, subject), "                              \
  "ends AS (INSERT INTO lease_ends (id, state, ended_at, reason) "                        \
  "SELECT id, " state ", " ended_at ", " reason " FROM gone), "                           \
  "certs AS (INSERT INTO revoked_certificates (id, expires_at, kind) "                    \
  "SELECT id, expires_at, kind FROM gone WHERE kind IN (1, 2) AND " state " = 2) "         \
  "SELECT id, kind, serial, jti, expires_at, ticket, subject FROM gone"

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
