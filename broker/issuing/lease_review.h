// One decision, two uses: a lease is judged again, by the same policies::evaluate() that
// allowed it, whenever its ticket or the policies change, and leases the decision no longer
// allows are revoked. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "broker/core/clock.h"
#include "broker/issuing/ports.h"
#include "broker/leases/lease_manager.h"
#include "broker/store/store.h"
#include "broker/tickets/service.h"
#include "policies/engine/policy.h"

namespace jitb::issuing {

policies::TicketFacts ticketFacts(const tickets::Ticket& t);
// A space-separated scope list (RFC 6749 §3.3), empty entries dropped.
std::vector<std::string> splitScopes(std::string_view s);

// The request a lease answered, as far as the lease shows it: its kind, grant and, for a
// token, the audience and scopes it was issued with.
policies::IssueRequest requestOf(const store::LeaseRow& lease);
policies::CallerFacts callerOf(const store::LeaseRow& lease);

// The rule that now denies `lease` under `ticket`, or "" when the decision still allows it
// (under the grant it was issued for).
std::string verdict(const policies::PolicySet& policies, const store::LeaseRow& lease,
                    const tickets::Ticket& ticket, core::TimePoint now);

// What the lease's insert checks (leases::InsertCheck) for a lease judged against `judged`
// under `judged_under`: the same verdict() again when the stored ticket or the policies in
// force are no longer those. `policies` and `clock` must outlive the insert.
leases::InsertCheck insertCheck(const PolicyHolder& policies, const core::Clock& clock,
                                const tickets::Ticket& judged,
                                std::shared_ptr<const policies::PolicySet> judged_under,
                                store::LeaseRow lease);

class LeaseReviewer final : public tickets::LeaseReview {
 public:
  LeaseReviewer(const PolicyHolder& policies, store::Store& store, leases::LeaseManager& leases,
                const core::Clock& clock);

  core::StatusOr<size_t> reviewTicket(const tickets::Ticket& ticket,
                                      const std::string& reason) override;
  // Every ticket with active leases (after a policy reload): how many leases ended.
  core::StatusOr<size_t> reviewAll(const std::string& reason);

 private:
  // Judges the active leases of ticket `id` as stored; `event` stands in when no row exists.
  core::StatusOr<size_t> review(const std::string& id, const tickets::Ticket* event,
                                const std::string& reason);

  const PolicyHolder& policies_;
  store::Store& store_;
  leases::LeaseManager& leases_;
  const core::Clock& clock_;
};

}  // namespace jitb::issuing
