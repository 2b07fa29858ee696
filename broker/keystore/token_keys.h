// The token-signing keys of every replica, from the store (purpose "token_signing"). A rotation
// is two-phase: the new key is written signing only from `publish_delay` after its creation;
// until then every replica publishes it in its JWKS and signs with the previous one. The delay
// is the JWKS max-age plus two refresh periods, so that each replica has re-read the key set and
// each JWKS client has fetched it again before any token carries the new kid.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/core/ticker.h"
#include "broker/jose/signer.h"
#include "broker/keystore/shared_keys.h"

namespace jitb::keystore {

inline constexpr const char* kTokenSigningPurpose = "token_signing";

class TokenKeys {
 public:
  // Reads (or, on an empty store, creates) the keys. The signer's rotate() goes through the
  // store. `keys` and `clock` must outlive this.
  //
  // `import_dir` (data_dir/jwt of a broker that ran without a KEK; empty: none): on a store
  // without token keys, every key there is sealed into it instead, with its creation time, so
  // the newest still signs and tokens of the older ones still verify (`keys.imported`). When
  // the store already has its keys they stand; keys of that folder the store lacks are logged
  // (`keys.import_skipped`, their kids) and the tokens they signed no longer verify.
  static core::StatusOr<std::unique_ptr<TokenKeys>> open(SharedKeys& keys,
                                                         const core::Clock& clock,
                                                         std::chrono::milliseconds publish_delay,
                                                         const std::string& import_dir = "");
  ~TokenKeys();

  jose::TokenSigner& signer() { return *signer_; }
  // Shared with the composition root's Keys; its rotate() calls back into this object, which
  // must still be alive then.
  std::shared_ptr<jose::TokenSigner> signerPtr() { return signer_; }
  // Reads the key set again (another replica's rotation) and chooses for the clock's now.
  core::Status refresh();
  // Refreshes every `every` on a thread of its own until stop(); a failed read keeps the keys
  // in hand and is logged.
  void start(std::chrono::milliseconds every);
  void stop();

 private:
  TokenKeys(SharedKeys& keys, const core::Clock& clock, std::chrono::milliseconds delay);
  core::Status rotate(core::TimePoint now);

  SharedKeys& keys_;
  const core::Clock& clock_;
  std::chrono::milliseconds delay_;
  std::shared_ptr<jose::TokenSigner> signer_;
  core::Ticker ticker_;  // last: stopped before the members refresh() uses
};

}  // namespace jitb::keystore
