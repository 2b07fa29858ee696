// Replay-Nonce values (RFC 8555 §7.2): HMAC-signed, time-stamped, so that any replica can
// check one another made, and single use through the store (Store::claimDelivery), so that a
// replayed nonce is refused on every replica. The key is one store row shared by the replicas.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/metrics/registry.h"
#include "broker/store/store.h"

namespace jitb::acme {

struct NonceOptions {
  std::chrono::seconds life{3600};
  // Testing aid (acme.reject_nonce_every): every Nth request of each signing key whose nonce
  // and signature pass is refused all the same, so that a client's badNonce retry (RFC 8555
  // §6.5) can be seen to work. Refusing a good nonce only costs the client a retry: it weakens
  // nothing. 0: never.
  int64_t reject_every = 0;
  // jitbroker_acme_bad_nonce_total{reason}, when set.
  metrics::Registry* metrics = nullptr;
};

class Nonces {
 public:
  Nonces(store::Store& store, const core::Clock& clock, NonceOptions opts);
  // Reads the shared key, making it on first use. Before any other call.
  core::Status init();
  std::string issue();
  // OK once for a nonce this broker made within its life; InvalidArgument (badNonce) for any
  // other; Unavailable when the store fails.
  core::Status consume(std::string_view nonce);
  // For a request whose nonce was consumed and whose signature verified: InvalidArgument
  // (badNonce) for every reject_every-th one signed by `signer` (a key thumbprint), else OK.
  // Counted per key, so that a client's retry (the next request of its key) always passes,
  // whatever other clients do at the same time.
  core::Status rejectForTesting(const std::string& signer);

 private:
  std::string mac(std::string_view data) const;
  // InvalidArgument(why), counted under `reason` (a fixed set: the metric's label).
  core::Status refuse(const char* reason, const char* why);
  store::Store& store_;
  const core::Clock& clock_;
  NonceOptions opts_;
  std::string key_;
  std::mutex mu_;
  std::unordered_map<std::string, int64_t> signed_;  // requests per signer, under mu_
};

}  // namespace jitb::acme
