// gmock stand-in for the lease side of a ticket change (tickets::LeaseEvents), so that the
// ticket service is tested without any lease code.
#pragma once

#include <gmock/gmock.h>

#include "broker/tickets/lease_events.h"

namespace jitb::testing {

class MockLeaseEvents : public tickets::LeaseEvents {
 public:
  MOCK_METHOD(core::StatusOr<size_t>, revokeTicket,
              (const std::string& ticket, const std::string& reason), (override));
  MOCK_METHOD(void, watchWindow, (const std::string& ticket, int64_t window_end_ms), (override));
  MOCK_METHOD(size_t, ticketLeasesEnded,
              (const std::vector<store::EndedLease>& ended, const std::string& reason),
              (override));
};

}  // namespace jitb::testing
