// gmock stand-in for issuing::TokenService (the broker's token signer and checker).
#pragma once

#include <gmock/gmock.h>

#include "broker/issuing/ports.h"

namespace jitb::testing {

class MockTokenService : public issuing::TokenService {
 public:
  MOCK_METHOD(core::StatusOr<std::string>, sign, (const boost::json::object&), (override));
  MOCK_METHOD(core::StatusOr<boost::json::object>, verify, (std::string_view), (override));
};

}  // namespace jitb::testing
