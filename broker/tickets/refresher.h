// Keeps stored tickets in step with their systems of record. lookup() is what issuance asks:
// a ticket owned by a source that the broker has not read within `max_age` is read first, and
// when the source cannot answer the lookup fails (Unavailable) so issuance fails closed.
// refresh() is shared by lookups, webhook triggers and the reconciliation poller.
// Thread-safe; concurrent lookups of one stale ticket share one read. A lookup reads in the
// ITSM client's lookup lane (itsm_http.h): it never waits for the request budget. An id the
// source does not have is remembered for `negative_ttl` (NegativeCache), so that asking for
// it again, or for many made-up ids one by one, costs the source nothing more.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/core/clock.h"
#include "broker/tickets/negative_cache.h"
#include "broker/tickets/service.h"
#include "broker/tickets/source.h"

namespace jitb::tickets {

struct RefreshOutcome {
  size_t checked = 0;  // tickets read from the source
  size_t applied = 0;  // of those, changed the stored ticket
  size_t revoked = 0;  // leases ended as a result
  std::vector<std::pair<std::string, std::string>> unreadable;  // see FetchResult
};

class Refresher final : public TicketLookup {
 public:
  Refresher(TicketService& service, const core::Clock& clock, std::chrono::milliseconds max_age,
            std::chrono::milliseconds negative_ttl = std::chrono::seconds(15),
            size_t negative_capacity = 10'000);

  // Before first use.
  void addSource(std::shared_ptr<TicketSource> source);
  const std::vector<std::shared_ptr<TicketSource>>& sources() const { return sources_; }
  TicketSource* sourceFor(std::string_view id) const;

  core::StatusOr<std::optional<Ticket>> lookup(const std::string& id) override;
  // True when lookup(id) may wait on a source: the composition root hands this to the wire
  // adapters, which move such requests off the I/O thread.
  bool mayBlock(const std::string& id) {
    return sourceFor(id) && !fresh(id) && !negative_.contains(id);
  }

  // Reads `ids` from `source` and applies each through the ticket service (audited, leases
  // revoked as the ticket now requires). A stored ticket the source no longer has is applied
  // as canceled: access never outlives its record.
  core::StatusOr<RefreshOutcome> refresh(TicketSource& source, const std::vector<std::string>& ids);

 private:
  core::Status refreshShared(TicketSource& source, const std::string& id);
  bool fresh(const std::string& id);

  TicketService& service_;
  const core::Clock& clock_;
  std::chrono::milliseconds max_age_;
  NegativeCache negative_;
  std::vector<std::shared_ptr<TicketSource>> sources_;
  std::mutex mu_;
  std::unordered_map<std::string, core::TimePoint> checked_;
  std::unordered_map<std::string, std::shared_future<core::Status>> inflight_;
};

}  // namespace jitb::tickets
