// Applies ticket events: conditional write in the store, audit, and the revocations an event
// implies: closing, withdrawing approval or ending the window ends every lease of the ticket,
// in the store transaction that writes the event (Store::applyTicket), so a crash or failure
// never leaves the ticket written and its leases active; any other change has each active
// lease judged again (LeaseReview), and those the decision no longer allows end. That review
// runs the policies, so it cannot run inside the store's transaction: the write marks the
// ticket review pending instead, the review clears the mark when done, and sweepReviews() runs
// again those a crash or failure interrupted. Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/store/store.h"
#include "broker/tickets/lease_events.h"
#include "broker/tickets/ticket.h"

namespace jitb::tickets {

// Judges a ticket's active leases again after the ticket changed, with the decision that
// issues credentials, and ends those it no longer allows (the issuing side implements it, so
// that tickets/ knows no policy). Returns how many leases ended.
class LeaseReview {
 public:
  virtual ~LeaseReview() = default;
  virtual core::StatusOr<size_t> reviewTicket(const Ticket& ticket, const std::string& reason) = 0;
};

// How far in the future an event's updated_at may be (clock skew between systems).
inline constexpr std::chrono::seconds kMaxFutureSkew{300};
// How long after its write a ticket may stay marked review pending before sweepReviews() takes
// it for interrupted: well above the time a review takes.
inline constexpr std::chrono::seconds kReviewGrace{10};

struct ApplyOutcome {
  bool applied = false;
  std::string reason;  // when ignored: "not_newer" or "terminal"
  size_t revoked = 0;  // leases ended by this event
};

class TicketService {
 public:
  TicketService(store::Store& store, LeaseEvents& leases, LeaseReview& review,
                audit::AuditSink& audit, const core::Clock& clock);

  // InvalidArgument (and nothing changes) for an updated_at more than kMaxFutureSkew ahead:
  // such an event would make every later one look older.
  core::StatusOr<ApplyOutcome> apply(const Ticket& t, std::string_view source);
  // A ticket whose source record cannot be read as a ticket: its active leases end and the
  // reason is audited. The stored ticket is left as it was, so a fixed record applies again.
  core::StatusOr<size_t> revokeUnreadable(const std::string& id, const std::string& why,
                                          std::string_view source);
  // Served from memory after the first read: every issuance asks for its ticket, and only
  // apply() changes one (this process owns its store).
  core::StatusOr<std::optional<Ticket>> get(const std::string& id);
  // Drops the ticket from memory: another replica changed it (the revocation fan-out saw its
  // leases end), so the next get() reads the store.
  void forget(const std::string& id) { invalidate(id); }
  // Runs again the reviews of tickets still marked review pending kReviewGrace after their
  // write (the process died, or the review and its fallback failed). At start and periodically
  // (the lease manager's store poll); safe on several replicas at once, since a review only
  // ends what the decision no longer allows. Returns how many leases ended.
  core::StatusOr<size_t> sweepReviews();

 private:
  // What the event does to the ticket's leases, decided before the write so that the store
  // does it in the write's transaction.
  store::TicketEffect effectOf(const Ticket& t) const;
  // Judges the ticket's leases again, then clears the mark of the write at `updated_at`. When
  // the review fails every lease of the ticket ends (fail closed); when that fails too the mark
  // stays for the sweep.
  core::StatusOr<size_t> review(const Ticket& t, int64_t updated_at);
  // Around apply()'s write: forgets the ticket, and bumps the generation so that a get()
  // whose read overlapped the write does not cache what it read.
  void invalidate(const std::string& id);

  store::Store& store_;
  LeaseEvents& leases_;
  LeaseReview& review_;
  audit::AuditSink& audit_;
  const core::Clock& clock_;
  std::mutex cache_mu_;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, Ticket> cache_;
};

}  // namespace jitb::tickets
