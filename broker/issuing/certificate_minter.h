// X.509 certificates from the broker's CA (CertificateIssuer), shaped by the decision's
// profile; the CA's refusal is audited as certificate.refused.
#pragma once

#include "broker/issuing/minter.h"
#include "broker/issuing/ports.h"

namespace jitb::issuing {

class CertificateMinter final : public CredentialMinter {
 public:
  explicit CertificateMinter(CertificateIssuer& ca) : ca_(ca) {}
  policies::CredentialKind kind() const override { return policies::CredentialKind::kCertificate; }
  // fields: certificate, ca_chain, serial, not_after, expires_in, and private_key for a
  // broker-made key (IssueRequest::server_key).
  std::variant<Minted, MintRefusal> mint(const MintContext& ctx) override;

 private:
  CertificateIssuer& ca_;
};

}  // namespace jitb::issuing
