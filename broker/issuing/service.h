// The exchange (docs/api.md#issuing) without a transport: a verified caller plus an approved
// ticket, judged by the policy, becomes a credential from the minter of its kind, recorded as
// a durable lease before it is returned. Also introspection and holder revocation of tokens.
// The wire adapters (broker/api/issuing_api.h) decide which thread calls in. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/offload.h"
#include "broker/issuing/minter.h"
#include "broker/issuing/ports.h"
#include "broker/issuing/requests.h"
#include "broker/leases/lease_manager.h"
#include "broker/metrics/registry.h"
#include "broker/store/store.h"
#include "broker/tickets/source.h"

namespace jitb::issuing {

struct ServiceDeps {
  CallerVerifier& callers;
  TokenService& tokens;      // checks presented tokens (introspection, revocation)
  PeerAuthenticator* peers;  // mTLS callers; null to accept JWT callers only
  const PolicyHolder& policies;
  tickets::TicketLookup& tickets;  // may read a source first when the ticket is stale
  leases::LeaseManager& leases;
  store::Store& store;
  audit::AuditSink& audit;
  const core::Clock& clock;
  metrics::Registry& metrics;
};

class IssuanceService {
 public:
  explicit IssuanceService(ServiceDeps deps);

  // Before first use; one minter per credential kind (a second one of a kind replaces it).
  void addMinter(CredentialMinter& minter);
  bool canIssue(policies::CredentialKind kind) const;
  // Before first use. Asked before every issuance and introspection: a status that is not OK
  // (the store out of reach, so another replica's revocations are unseen) is the answer.
  void setAvailability(std::function<core::Status()> gate) { available_ = std::move(gate); }
  bool acceptsPeers() const { return d_.peers != nullptr; }

  // A JWT when one is given, else the client certificate (DER) when peers are accepted.
  // Unauthenticated on failure; a closed ticket's certificate carries kTicketClosedDetail.
  // verify() may wait on the network (an issuer's keys): the adapter knows when.
  core::StatusOr<Caller> identify(std::string_view jwt, std::string_view peer_cert_der);

  // Looks up the ticket (may wait on its source), judges, mints and commits. `done` runs
  // exactly once: with a Denial once its decision.denied record is durable, with Issued once
  // the lease is recorded and the issuance audited (the two writes overlap and no thread waits
  // for either: the later completion answers, on a store or audit thread), or with a status.
  // `offload` runs what may block after a failed commit (the refusal's own writes) off those
  // threads.
  void issue(IssueRequest request, Completion done, core::Offload offload);

  // RFC 7662: the claims of a token whose lease is active (with "active", "token_type" and
  // "lease_id" added); nullopt for any token that is not; an error when the store fails.
  core::StatusOr<std::optional<boost::json::object>> introspect(std::string_view token);
  // RFC 7009: ends the lease of a valid token as holder_revoked. OK for tokens that are
  // invalid or unknown too; an error only when the store fails.
  core::Status revokeByToken(std::string_view token);
  // A holder ending a lease it was issued (jitctl ssh when ssh exits): only when the lease's
  // subject and issuer are the caller's; NotFound otherwise, so that ids cannot be probed.
  // True when the lease was still active.
  core::StatusOr<bool> revokeOwnLease(const Caller& caller, const std::string& lease_id);

 private:
  struct Judged;
  struct Commit;
  // nullopt when allowed (`out` then holds the decision); else the denial or the error.
  std::optional<std::variant<Denial, core::Status>> judge(const IssueRequest& req, Judged& out);
  void deny(Denial denial, const std::string& ticket, const Caller& caller, Completion done);
  void commit(const Judged& j, store::LeaseRow lease, Issued issued, Completion done,
              core::Offload offload, CredentialMinter* activator);
  void committed(const std::shared_ptr<Commit>& c);
  // After the commit, for a minter that activates(): makes the credential, then answers.
  void activate(const std::shared_ptr<Commit>& c);
  // A lease that was not recorded or not audited: the status to answer with (may block).
  core::Status refused(const Commit& c);
  // The lease of a token this broker signed, if any.
  core::StatusOr<std::optional<store::LeaseRow>> leaseOf(std::string_view token,
                                                         boost::json::object* claims);

  CredentialMinter* minterFor(policies::CredentialKind kind) const;

  ServiceDeps d_;
  std::function<core::Status()> available_;
  std::vector<CredentialMinter*> minters_;  // one per kind
};

}  // namespace jitb::issuing
