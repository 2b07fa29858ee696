// JSON Web Key Sets (RFC 7517/7518/8037): RSA, EC P-256 and Ed25519 public keys. Immutable
// after parse; safe to share across threads.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/status.h"
#include "broker/jose/jws.h"
#include "broker/jose/ossl.h"

namespace jitb::jose {

struct Jwk {
  std::string kid;
  std::optional<Alg> alg;  // when the JWK names one, only that alg may use it
  std::shared_ptr<EVP_PKEY> key;
};

class KeySet {
 public:
  // Keys that cannot be used (unknown kty or curve, RSA < 2048, "use": "enc", bad material)
  // are skipped; a set with no usable key is an error.
  static core::StatusOr<KeySet> parse(std::string_view json);
  static core::StatusOr<KeySet> fromJson(const boost::json::object& jwks);

  // The key for this kid and alg. A token without kid may use the only key that fits alg.
  const Jwk* find(std::string_view kid, Alg alg) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<Jwk> keys_;
};

// The public JWK of an EC P-256 key: kty, crv, x, y (32 bytes each, leading zeros kept).
boost::json::object ecPublicJwk(EVP_PKEY* key);
// RFC 7638 thumbprint (base64url SHA-256 of the canonical members) of an EC public JWK.
std::string ecThumbprint(const boost::json::object& jwk);

}  // namespace jitb::jose
