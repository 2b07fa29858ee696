// The typed vocabulary of issuance: what a wire adapter asks for and what it gets back. No
// transport in here; the adapters in broker/api turn HTTP into these and these into HTTP.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "broker/core/status.h"
#include "broker/issuing/ports.h"
#include "broker/store/records.h"
#include "policies/engine/decision.h"

namespace jitb::issuing {

struct IssueRequest {
  Caller caller;  // already verified (IssuanceService::identify)
  std::string ticket;
  policies::CredentialKind kind = policies::CredentialKind::kToken;
  std::string grant;                        // "" = the first grant the ticket allows
  std::string audience;                     // tokens; "" = the grant's
  std::vector<std::string> scopes;          // tokens; empty = all the grant's
  std::optional<std::chrono::seconds> ttl;  // absent = as long as grant and window allow
  std::string csr;                          // certificates: PEM or DER
  bool server_key = false;                  // certificates: the broker makes the key pair
  std::string ssh_public_key;               // ssh: the OpenSSH public key line to certify
  // Certificates: when set, exactly these DNS names (each one the grant allows) instead of all
  // of the grant's names; ACME orders name theirs.
  std::vector<std::string> dns_names;
};

// A credential, handed out only once its lease and audit records are durable.
struct Issued {
  std::string lease_id;
  std::string subject;  // the caller's, for the access log
  store::LeaseKind kind = store::LeaseKind::kToken;
  // The credential as its minter made it (CredentialMinter::mint), without the lease id.
  boost::json::object fields;
};

// A refusal by a rule, audited as decision.denied before it is returned.
struct Denial {
  std::string rule;     // the failed rule, e.g. "ticket.window"
  std::string message;  // one sentence, safe to show to the caller
  // The decision's basis the caller sees (only the failed rule when the caller is not a
  // subject of the ticket), and the whole one the audit record keeps.
  boost::json::value basis;
  std::string audit_basis;  // JSON text
  policies::DenialKind reason = policies::DenialKind::kGrant;
  bool ticket_closed = false;  // final: the ticket is closed or its window over
  std::string subject;         // the caller's, for the access log
};

// Issued, Denial, or an error status: Unavailable (nothing durable, try again),
// ResourceExhausted (a lease quota), InvalidArgument/PermissionDenied (a minter's refusal).
using Outcome = std::variant<Issued, Denial, core::Status>;
using Completion = std::function<void(Outcome)>;

}  // namespace jitb::issuing
