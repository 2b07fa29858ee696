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
#define PG_ENDED_RETURNING \
  " RETURNING id, kind, coalesce(serial,''), coalesce(jti,''), expires_at, ticket, subject"

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

// A text[] literal for a bound parameter: one round trip for a whole list of ids.
inline std::string textArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char ch : items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace jitb::store::pg
