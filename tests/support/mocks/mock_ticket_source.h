// gmock stand-in for tickets::TicketSource (a system of record such as ServiceNow or Jira),
// for tests of the refresher and the poller that script what the source answers.
#pragma once

#include <gmock/gmock.h>

#include "broker/tickets/source.h"

namespace jitb::testing {

class MockTicketSource : public tickets::TicketSource {
 public:
  MOCK_METHOD(std::string_view, name, (), (const, override));
  MOCK_METHOD(bool, owns, (std::string_view), (const, override));
  MOCK_METHOD(core::StatusOr<tickets::FetchResult>, fetch, (const std::vector<std::string>&),
              (override));
  MOCK_METHOD(size_t, batchSize, (), (const, override));
};

}  // namespace jitb::testing
