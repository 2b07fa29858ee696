// The SSH CA's public face: its public key line (for sshd's TrustedUserCAKeys) and the KRL
// (for RevokedKeys) built from the store's revoked, unexpired SSH leases. The KRL is cached and
// rebuilt on the next fetch after a local revocation, and at most a second after one on
// another replica (sshd hosts poll; a stale second is the whole promise). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "broker/core/clock.h"
#include "broker/http/router.h"
#include "broker/metrics/registry.h"
#include "broker/store/store.h"
#include "ca/ssh_ca.h"

namespace jitb::pki {

class SshKrlService {
 public:
  SshKrlService(const ca::SshCa& ca, store::Store& store, const core::Clock& clock,
                metrics::Registry& metrics);

  // Called when leases end: a revoked SSH certificate makes the KRL stale.
  void sshRevoked() { dirty_ = true; }

  // The current KRL. Its version (a store counter, so replicas agree on the order) moves only
  // when the set of serials changes.
  core::StatusOr<std::string> krl();

  // GET /v1/ssh/ca.pub and GET /v1/ssh/krl.
  void addRoutes(http::Router& router);

 private:
  const ca::SshCa& ca_;
  store::Store& store_;
  const core::Clock& clock_;
  metrics::Registry& metrics_;
  std::atomic<bool> dirty_{true};
  std::mutex mu_;
  std::string krl_;
  std::vector<uint64_t> serials_;
  uint64_t version_ = 0;
  core::TimePoint built_{};
};

}  // namespace jitb::pki
