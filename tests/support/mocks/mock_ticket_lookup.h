// gmock stand-in for tickets::TicketLookup (the ticket an issuance is judged against).
#pragma once

#include <gmock/gmock.h>

#include "broker/tickets/source.h"

namespace jitb::testing {

class MockTicketLookup : public tickets::TicketLookup {
 public:
  MOCK_METHOD(core::StatusOr<std::optional<tickets::Ticket>>, lookup, (const std::string&),
              (override));
};

}  // namespace jitb::testing
