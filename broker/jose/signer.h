// The broker's own ES256 token-signing keys (docs/api.md#issuing), kept in DIR as 0600 PEM files
// named <created-ms>.pem, or in the store (keystore/, when keys.kek_file is set). The newest key
// whose active_from has come signs; a newer one is already published (a replica's rotation:
// every JWKS client sees it before any token carries it); older keys stay published for 24 h
// after their successor began signing, longer than any token they signed can live. Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/jose/jwks.h"

namespace jitb::jose {

// What the broker's own tokens need of a signer: a signature, and the keys to check one.
// TokenSigner is the implementation; users take this so that they can be tested with a mock
// signer (tests/support/mocks/mock_token_signer.h).
class Signer {
 public:
  virtual ~Signer() = default;
  // A compact JWS over the claims.
  virtual core::StatusOr<std::string> sign(const boost::json::object& claims) const = 0;
  // The published keys, for verifying the broker's own tokens; null before any key exists.
  virtual std::shared_ptr<const KeySet> keySet() const = 0;
};

// One key as its keeper hands it over: file keys sign from their creation on.
struct SigningKey {
  int64_t created_ms = 0;
  int64_t active_from_ms = 0;
  std::shared_ptr<EVP_PKEY> pkey;
};

class TokenSigner final : public Signer {
 public:
  static core::StatusOr<std::unique_ptr<TokenSigner>> loadOrCreate(const std::string& dir,
                                                                   core::TimePoint now);
  // Keys kept elsewhere (the store): setKeys gives them, and rotate() calls `rotate`, which
  // writes the next key where they are kept and gives the new set.
  static std::unique_ptr<TokenSigner> external(std::function<core::Status(core::TimePoint)> rotate);
  // Replaces the key set, choosing the signing key and the published ones for `now`.
  // InvalidArgument for a key that is not EC P-256, or an empty set.
  core::Status setKeys(std::vector<SigningKey> keys, core::TimePoint now);

  // A compact JWS over the claims, header {"alg":"ES256","typ":"JWT","kid":...}.
  core::StatusOr<std::string> sign(const boost::json::object& claims) const override;
  // {"keys": [...]}: public parts only.
  boost::json::object jwks() const;
  // The published keys, for verifying the broker's own tokens.
  std::shared_ptr<const KeySet> keySet() const override;
  // The signing key's kid; newestKid() names a key that is published but may not sign yet.
  std::string kid() const;
  std::string newestKid() const;
  // Makes a new signing key; the previous one stays published (see above).
  core::Status rotate(core::TimePoint now);
  // "TokenSigner(ES256, kid=...)": never key bytes.
  std::string describe() const;

 private:
  struct Key {
    int64_t created_ms;
    int64_t active_from_ms;
    std::string kid;
    std::shared_ptr<EVP_PKEY> pkey;
    boost::json::object jwk;
  };
  TokenSigner(std::string dir) : dir_(std::move(dir)) {}
  core::Status load(core::TimePoint now);

  std::string dir_;
  std::function<core::Status(core::TimePoint)> rotate_;  // external keys only
  mutable std::mutex mu_;
  std::vector<Key> keys_;  // published keys, newest last
  size_t signing_ = 0;     // index in keys_
  std::string header_b64_;  // of the newest key
  std::shared_ptr<const PreparedSigner> signer_;  // the newest key's
  std::shared_ptr<const KeySet> key_set_;
};

}  // namespace jitb::jose
