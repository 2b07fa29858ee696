// gmock stand-in for issuing::CallerVerifier (the caller JWT check), for unit tests of issuing
// and its wire adapters.
#pragma once

#include <gmock/gmock.h>

#include "broker/issuing/ports.h"

namespace jitb::testing {

class MockCallerVerifier : public issuing::CallerVerifier {
 public:
  MOCK_METHOD(core::StatusOr<issuing::Caller>, verify, (std::string_view, core::TimePoint),
              (override));
};

}  // namespace jitb::testing
