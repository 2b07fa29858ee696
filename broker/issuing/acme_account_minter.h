// ACME external account binding keys (docs/acme.md): an allowed decision becomes a key id and
// an HS256 key with which an ACME client creates one account. Judged like a certificate (the
// grant's certificate section); the lease (kind acme_account, jti = the key id) ends with the
// ticket, and with it the account and every certificate the account obtained.
#pragma once

#include "broker/issuing/minter.h"

namespace jitb::issuing {

class AcmeAccountMinter final : public CredentialMinter {
 public:
  policies::CredentialKind kind() const override { return policies::CredentialKind::kAcmeAccount; }
  // fields: kid, hmac_key (base64url, no padding), dns_sans (the names the account may
  // order), expires_in.
  std::variant<Minted, MintRefusal> mint(const MintContext& ctx) override;
};

}  // namespace jitb::issuing
