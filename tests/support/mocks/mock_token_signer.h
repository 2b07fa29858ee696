// gmock stand-in for jose::Signer (the broker's own token signer), for unit tests of what signs
// and checks the broker's tokens without key files.
#pragma once

#include <gmock/gmock.h>

#include "broker/jose/signer.h"

namespace jitb::testing {

class MockTokenSigner : public jose::Signer {
 public:
  MOCK_METHOD(core::StatusOr<std::string>, sign, (const boost::json::object&), (const, override));
  MOCK_METHOD(std::shared_ptr<const jose::KeySet>, keySet, (), (const, override));
};

}  // namespace jitb::testing
