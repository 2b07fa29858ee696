// What a ticket's change does to its leases, as tickets/ needs it. The lease side implements
// it (leases::LeaseManager), so that the dependency goes one way: leases/ knows tickets/,
// tickets/ knows no lease code. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/core/status.h"
#include "broker/store/store.h"

namespace jitb::tickets {

class LeaseEvents {
 public:
  virtual ~LeaseEvents() = default;
  // Ends every active lease of the ticket now, with `reason`; returns how many ended.
  virtual core::StatusOr<size_t> revokeTicket(const std::string& ticket,
                                              const std::string& reason) = 0;
  // The ticket stays usable until window_end_ms (Unix milliseconds): its leases end then,
  // unless the ticket was extended meanwhile. A later call for the same ticket re-arms.
  virtual void watchWindow(const std::string& ticket, int64_t window_end_ms) = 0;
  // Leases the store already ended (revoked with `reason`) in the transaction that wrote their
  // ticket's event: what the lease side does after an end (counts, listeners such as the CRL,
  // audit) follows. Returns how many.
  virtual size_t ticketLeasesEnded(const std::vector<store::EndedLease>& ended,
                                   const std::string& reason) = 0;
  // With a store that auditsInTransaction(): the records of the leases a ticket event ends with
  // `reason`, for the store to commit with their end (TicketEffect::audit_ended), so that
  // ticketLeasesEnded then writes none. Empty (the lease side writes them) otherwise.
  virtual store::EndAudit endedAudit(const std::string& reason) {
    (void)reason;
    return {};
  }
};

}  // namespace jitb::tickets
