// gmock stand-in for ca::SigningAuthority (the CA as the broker uses it: leaves, chain, CRLs,
// OCSP), for unit tests of pki/ that script a CA answer or failure without OpenSSL keys.
#pragma once

#include <gmock/gmock.h>

#include "ca/authority.h"

namespace jitb::testing {

class MockSigningAuthority : public ca::SigningAuthority {
 public:
  using Lookup = std::function<ca::CertStatus(const std::string&)>;

  MOCK_METHOD(ca::Result<ca::IssuedCertificate>, issue,
              (const ca::Csr&, const ca::IssuanceProfile&, ca::TimePoint), (const, override));
  MOCK_METHOD(ca::Result<ca::ServerKeyCertificate>, issueWithServerKey,
              (const ca::IssuanceProfile&, ca::KeyAlgorithm, ca::TimePoint), (const, override));
  MOCK_METHOD(const std::vector<std::string>&, chainPem, (), (const, override));
  MOCK_METHOD(ca::Result<std::string>, buildCrlDer,
              (const std::vector<ca::RevokedEntry>&, int64_t, ca::TimePoint, std::chrono::seconds),
              (const, override));
  MOCK_METHOD(ca::OcspAnswer, respondOcsp,
              (std::string_view, const Lookup&, ca::TimePoint, std::chrono::seconds),
              (const, override));
};

}  // namespace jitb::testing
