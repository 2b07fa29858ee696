// Compact JWS (RFC 7515) for the algorithms the broker accepts: RS256, ES256, EdDSA. Nothing
// else is ever verified: not "none", not HS*, not PS*. Stateless and thread-safe.
#pragma once

#include <openssl/evp.h>

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/core/encoding.h"
#include "broker/core/status.h"
#include "broker/jose/ossl.h"

namespace jitb::jose {

enum class Alg { kRS256, kES256, kEdDSA };

std::optional<Alg> algFromName(std::string_view name);
const char* algName(Alg a);
// True when `key` is the kind of key `alg` uses (RSA >= 2048, EC P-256, Ed25519): this is
// what blocks algorithm-confusion attacks.
bool keyFitsAlg(EVP_PKEY* key, Alg alg);

using core::base64urlDecode;
using core::base64urlEncode;

struct Jws {
  boost::json::object header;
  boost::json::object payload;
  std::string signing_input;  // "<b64 header>.<b64 payload>"
  std::string signature;      // raw bytes
};

// Splits and decodes a compact JWS; no signature check. InvalidArgument when malformed.
core::StatusOr<Jws> decodeCompact(std::string_view token, size_t max_size = 16 * 1024);

// ES256 signatures are raw R||S (64 bytes), converted here to and from OpenSSL's DER.
bool verifySignature(Alg alg, EVP_PKEY* key, std::string_view input, std::string_view sig);
core::StatusOr<std::string> sign(Alg alg, EVP_PKEY* key, std::string_view input);

// A signing context set up once for a key and copied for each signature: OpenSSL 3.0 fetches
// the digest and the signature algorithm, under a lock, on every fresh initialisation.
// Thread-safe once made. Holds a reference to the key.
class PreparedSigner {
 public:
  static core::StatusOr<std::unique_ptr<PreparedSigner>> make(Alg alg, EVP_PKEY* key);
  core::StatusOr<std::string> sign(std::string_view input) const;

 private:
  PreparedSigner(Alg alg, PkeyPtr key, MdCtxPtr ctx)
      : alg_(alg), key_(std::move(key)), ctx_(std::move(ctx)) {}
  Alg alg_;
  PkeyPtr key_;  // the context refers to it
  MdCtxPtr ctx_;
};

}  // namespace jitb::jose
