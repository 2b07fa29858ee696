// One credential kind: given an allowed decision, makes the credential and the kind-specific
// part of its lease. A new kind (SSH, database role, ACME) is a new minter registered with the
// IssuanceService, and a wire adapter for it; no other minter changes.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <variant>

#include "broker/audit/audit_log.h"
#include "broker/issuing/requests.h"
#include "broker/tickets/ticket.h"
#include "policies/engine/decision.h"

namespace jitb::issuing {

struct MintContext {
  const IssueRequest& request;
  const tickets::Ticket& ticket;
  const policies::Decision& decision;  // allowed: its issuance profile is the one to use
  core::TimePoint now;
  // The id the lease will have: kinds that name their credential after it (the SSH key id).
  std::string lease_id = {};
};

struct Minted {
  // The lease's kind-specific fields: kind, expires_at and jti/claims or serial. The service
  // fills in the rest (id, ticket, grant, caller, issued_at, review).
  store::LeaseRow lease;
  boost::json::object fields;  // the credential, for the wire adapter
};

// Minting refused: the status to return and, when the refusal must be audited, its record
// (durable before the answer goes out).
struct MintRefusal {
  core::Status status;
  std::optional<audit::Record> record;
};

class CredentialMinter {
 public:
  virtual ~CredentialMinter() = default;
  virtual policies::CredentialKind kind() const = 0;
  // Thread-safe; called once per allowed request, before anything is persisted.
  virtual std::variant<Minted, MintRefusal> mint(const MintContext& ctx) = 0;
  // A credential that lives outside the broker (a database role) is made here: once its lease
  // and audit records are durable, before the answer, so a crash in between leaves a lease
  // that revocation finds. May block (called through the request's offload); may complete
  // `fields`. An error ends the lease at once and the caller gets Unavailable.
  virtual bool activates() const { return false; }
  virtual core::Status activate(const store::LeaseRow& lease, boost::json::object& fields) {
    (void)lease;
    (void)fields;
    return core::okStatus();
  }
};

}  // namespace jitb::issuing
