// OpenSSH user certificates from the broker's SSH CA, shaped by the decision's ssh profile:
// key id = the lease id, a random non-zero serial (kept as the lease's serial, in decimal, for
// the KRL), valid until now + the decision's TTL, which never passes the ticket's window end.
#pragma once

#include "broker/issuing/minter.h"
#include "ca/ssh_ca.h"

namespace jitb::issuing {

class SshMinter final : public CredentialMinter {
 public:
  explicit SshMinter(const ca::SshCa& ca) : ca_(ca) {}
  policies::CredentialKind kind() const override { return policies::CredentialKind::kSsh; }
  // fields: certificate, serial, key_id, principals, valid_after, valid_before. A key the CA
  // does not accept is InvalidArgument, before anything is stored.
  std::variant<Minted, MintRefusal> mint(const MintContext& ctx) override;

 private:
  const ca::SshCa& ca_;
};

}  // namespace jitb::issuing
