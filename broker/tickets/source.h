// A system of record for tickets (ServiceNow, Jira Service Management): the broker reads
// tickets from it on demand, when triggered, and while reconciling. What a source returns is
// the truth; webhooks only say when to look.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/core/status.h"
#include "broker/tickets/ticket.h"

namespace jitb::tickets {

struct FetchResult {
  std::vector<Ticket> found;
  // Asked for but absent at the source (deleted, or never existed).
  std::vector<std::string> missing;
  // Present but not readable as a ticket (a malformed record), with the reason. Such a ticket
  // authorises nothing until its record is fixed; the rest of the batch is unaffected.
  std::vector<std::pair<std::string, std::string>> unreadable;
};

class TicketSource {
 public:
  virtual ~TicketSource() = default;
  // "servicenow" or "jira": the audit's `source`, metric labels.
  virtual std::string_view name() const = 0;
  // Whether a ticket id (e.g. "CHG0030001", "OPS-12") belongs to this source.
  virtual bool owns(std::string_view ticket_id) const = 0;
  // Reads the given tickets (ids it owns), batching as the source's API allows. Unavailable
  // when the source cannot be reached or keeps failing; nothing is partially returned then.
  virtual core::StatusOr<FetchResult> fetch(const std::vector<std::string>& ids) = 0;
  // How many ids one fetch() should carry (one page of the source's API).
  virtual size_t batchSize() const = 0;
};

// Read-only lookup of the ticket an issuance is judged against.
class TicketLookup {
 public:
  virtual ~TicketLookup() = default;
  // The ticket as the broker should judge it now; nullopt when no one knows it. Unavailable
  // when a source must be asked and cannot answer: callers fail closed.
  virtual core::StatusOr<std::optional<Ticket>> lookup(const std::string& id) = 0;
};

}  // namespace jitb::tickets
