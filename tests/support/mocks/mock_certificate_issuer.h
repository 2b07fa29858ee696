// gmock stand-in for issuing::CertificateIssuer (the broker's CA).
#pragma once

#include <gmock/gmock.h>

#include "broker/issuing/ports.h"

namespace jitb::testing {

class MockCertificateIssuer : public issuing::CertificateIssuer {
 public:
  MOCK_METHOD(core::StatusOr<issuing::CertResult>, issue,
              (const issuing::CertRequest&, core::TimePoint), (override));
};

}  // namespace jitb::testing
