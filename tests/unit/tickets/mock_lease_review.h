// gmock stand-in for the issuing side's lease review (tickets/ knows no policy).
#pragma once

#include <gmock/gmock.h>

#include "broker/tickets/service.h"

namespace jitb::testing {

class MockLeaseReview : public tickets::LeaseReview {
 public:
  MockLeaseReview() {
    ON_CALL(*this, reviewTicket).WillByDefault(::testing::Return(core::StatusOr<size_t>(size_t{0})));
  }
  MOCK_METHOD(core::StatusOr<size_t>, reviewTicket,
              (const tickets::Ticket& ticket, const std::string& reason), (override));
};

}  // namespace jitb::testing
