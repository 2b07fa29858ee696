// gmock stand-in for issuing::PeerAuthenticator (callers holding a certificate of the
// broker's CA).
#pragma once

#include <gmock/gmock.h>

#include "broker/issuing/ports.h"

namespace jitb::testing {

class MockPeerAuthenticator : public issuing::PeerAuthenticator {
 public:
  MOCK_METHOD(core::StatusOr<issuing::Caller>, authenticate, (std::string_view, core::TimePoint),
              (override));
};

}  // namespace jitb::testing
