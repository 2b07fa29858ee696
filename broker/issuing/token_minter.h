// Access tokens (RFC 8693 exchanges): a JWT signed by the broker's TokenService, its jti
// recorded on the lease.
#pragma once

#include <string>

#include "broker/issuing/minter.h"
#include "broker/issuing/ports.h"

namespace jitb::issuing {

class TokenMinter final : public CredentialMinter {
 public:
  // `issuer_url`: the tokens' "iss", the broker's public_url.
  TokenMinter(TokenService& tokens, std::string issuer_url)
      : tokens_(tokens), issuer_url_(std::move(issuer_url)) {}
  policies::CredentialKind kind() const override { return policies::CredentialKind::kToken; }
  // fields: access_token, expires_in, scope (space-separated, in the grant's order).
  std::variant<Minted, MintRefusal> mint(const MintContext& ctx) override;

 private:
  TokenService& tokens_;
  std::string issuer_url_;
};

}  // namespace jitb::issuing
