#include "broker/server/build_ssh.h"

#include "broker/keystore/shared_ca.h"

namespace jitb::server {

core::StatusOr<SshParts> buildSsh(const Config& cfg, store::Store& store, const core::Clock& clock,
                                  metrics::Registry& registry, leases::LeaseManager& leases,
                                  http::Router& router, SharedKeyStore* shared) {
  auto algorithm = ca::keyAlgorithmFromName(cfg.ca.ssh_algorithm);
  if (!algorithm.ok()) return core::invalidArgument(algorithm.error().message);
  SshParts parts;
  if (shared) {
    auto made = keystore::loadOrCreateSshCa(*shared->keys, *algorithm, clock.now(),
                                            cfg.data_dir + "/ca/ssh_ca.key");
    if (!made.ok()) return made.status();
    parts.ca = std::make_unique<ca::SshCa>(std::move(*made));
  } else {
    auto made = ca::SshCa::loadOrCreate(cfg.data_dir + "/ca/ssh_ca.key", *algorithm);
    if (!made.ok()) return core::Status(core::Code::kInternal, "SSH CA: " + made.error().message);
    parts.ca = std::make_unique<ca::SshCa>(std::move(*made));
  }
  parts.minter = std::make_unique<issuing::SshMinter>(*parts.ca);
  parts.krl = std::make_unique<pki::SshKrlService>(*parts.ca, store, clock, registry);
  parts.krl->addRoutes(router);
  leases.addListener(
      [k = parts.krl.get()](const std::vector<store::EndedLease>& ended, store::LeaseState state) {
        if (state != store::LeaseState::kRevoked) return;
        for (const auto& l : ended)
          if (l.kind == store::LeaseKind::kSsh) return k->sshRevoked();
      });
  return parts;
}

}  // namespace jitb::server
