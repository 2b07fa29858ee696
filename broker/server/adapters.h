// Plugs the jose module into the issuing ports.
#pragma once

#include <memory>
#include <string>

#include "broker/issuing/ports.h"
#include "broker/jose/signer.h"
#include "broker/jose/verifier.h"

namespace jitb::server {

class TrustCallerVerifier final : public issuing::CallerVerifier {
 public:
  explicit TrustCallerVerifier(jose::TrustStore& trust) : trust_(trust) {}
  core::StatusOr<issuing::Caller> verify(std::string_view jwt, core::TimePoint now) override;

 private:
  jose::TrustStore& trust_;
};

class SignerTokenService final : public issuing::TokenService {
 public:
  SignerTokenService(const jose::Signer& signer, std::string issuer, const core::Clock& clock)
      : signer_(signer), issuer_(std::move(issuer)), clock_(clock) {}
  core::StatusOr<std::string> sign(const boost::json::object& claims) override;
  core::StatusOr<boost::json::object> verify(std::string_view jwt) override;

 private:
  const jose::Signer& signer_;
  std::string issuer_;
  const core::Clock& clock_;
};

}  // namespace jitb::server
