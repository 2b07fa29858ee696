// A lease row as the store tests write it: a token (jti) or a certificate (serial) of grant
// "deploy", issued at 1000 ms. Shared by the SQLite store tests and the conformance suite.
#pragma once

#include <string>

#include "broker/store/records.h"

namespace jitb::testing {

inline store::LeaseRow leaseRow(std::string id, std::string ticket,
                                store::LeaseKind kind = store::LeaseKind::kToken,
                                int64_t expires = 10'000) {
  store::LeaseRow l;
  l.id = std::move(id);
  l.kind = kind;
  l.ticket = std::move(ticket);
  l.grant = "deploy";
  l.subject = "repo:acme/api";
  l.issued_at = 1000;
  l.expires_at = expires;
  if (kind == store::LeaseKind::kToken)
    l.jti = "jti-" + l.id;
  else
    l.serial = "5e" + l.id;
  return l;
}

}  // namespace jitb::testing
