// Replay-Nonce values (RFC 8555 §7.2): HMAC-signed, time-stamped, so that any replica can
// check one another made, and single use through the store (Store::claimDelivery), so that a
// replayed nonce is refused on every replica. The key is one store row shared by the replicas.
#pragma once

#include <string>
#include <string_view>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/store/store.h"

namespace jitb::acme {

class Nonces {
 public:
  Nonces(store::Store& store, const core::Clock& clock, std::chrono::seconds life)
      : store_(store), clock_(clock), life_(life) {}
  // Reads the shared key, making it on first use. Before any other call.
  core::Status init();
  std::string issue();
  // OK once for a nonce this broker made within its life; InvalidArgument (badNonce) for any
  // other, Unavailable when the store fails.
  core::Status consume(std::string_view nonce);

 private:
  std::string mac(std::string_view data) const;
  store::Store& store_;
  const core::Clock& clock_;
  std::chrono::seconds life_;
  std::string key_;
};

}  // namespace jitb::acme
