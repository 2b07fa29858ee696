// The broker's own ES256 token-signing keys (docs/api.md#issuing), kept in DIR as 0600 PEM files
// named <created-ms>.pem. The newest key signs; older keys stay published in the JWKS for 24 h
// after their successor was made, longer than any token they signed can live. Thread-safe.
#pragma once

#include <boost/json/object.hpp>
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

class TokenSigner final : public Signer {
 public:
  static core::StatusOr<std::unique_ptr<TokenSigner>> loadOrCreate(const std::string& dir,
                                                                   core::TimePoint now);

  // A compact JWS over the claims, header {"alg":"ES256","typ":"JWT","kid":...}.
  core::StatusOr<std::string> sign(const boost::json::object& claims) const override;
  // {"keys": [...]}: public parts only.
  boost::json::object jwks() const;
  // The published keys, for verifying the broker's own tokens.
  std::shared_ptr<const KeySet> keySet() const override;
  std::string kid() const;
  // Makes a new signing key; the previous one stays published (see above).
  core::Status rotate(core::TimePoint now);
  // "TokenSigner(ES256, kid=...)": never key bytes.
  std::string describe() const;

 private:
  struct Key {
    int64_t created_ms;
    std::string kid;
    std::shared_ptr<EVP_PKEY> pkey;
    boost::json::object jwk;
  };
  TokenSigner(std::string dir) : dir_(std::move(dir)) {}
  core::Status load(core::TimePoint now);

  std::string dir_;
  mutable std::mutex mu_;
  std::vector<Key> keys_;  // published keys, newest last
  std::string header_b64_;  // of the newest key
  std::shared_ptr<const PreparedSigner> signer_;  // the newest key's
  std::shared_ptr<const KeySet> key_set_;
};

}  // namespace jitb::jose
