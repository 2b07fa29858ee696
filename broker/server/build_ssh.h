// The composition root's SSH step: the SSH CA (its key made on first start beside the X.509
// CA's, 0600), the minter that issuance registers, and the CA key and KRL routes, with the KRL
// made stale by every revoked SSH lease.
#pragma once

#include <memory>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/http/router.h"
#include "broker/issuing/ssh_minter.h"
#include "broker/leases/lease_manager.h"
#include "broker/metrics/registry.h"
#include "broker/pki/ssh_krl_service.h"
#include "broker/server/build_keys.h"
#include "broker/server/config.h"
#include "broker/store/store.h"
#include "ca/ssh_ca.h"

namespace jitb::server {

struct SshParts {
  std::unique_ptr<ca::SshCa> ca;
  std::unique_ptr<issuing::SshMinter> minter;
  std::unique_ptr<pki::SshKrlService> krl;
};

// data_dir/ca must exist (buildCa made it). Fails with a message for the operator when the key
// file cannot be read or written. With `shared` (keys.kek_file) the key is the store's.
core::StatusOr<SshParts> buildSsh(const Config& cfg, store::Store& store, const core::Clock& clock,
                                  metrics::Registry& registry, leases::LeaseManager& leases,
                                  http::Router& router, SharedKeyStore* shared = nullptr);

}  // namespace jitb::server
