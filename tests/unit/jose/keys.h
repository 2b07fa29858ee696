// Test keys and a minting helper that signs whatever header and claims a test wants.
#pragma once

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <boost/json.hpp>
#include <string>

#include "broker/jose/jwks.h"
#include "broker/jose/jws.h"

namespace jitb::jose::testing {

inline std::shared_ptr<EVP_PKEY> rsaKey(unsigned bits = 2048) {
  return {EVP_RSA_gen(bits), EVP_PKEY_free};
}
inline std::shared_ptr<EVP_PKEY> ecKey() { return {EVP_EC_gen("P-256"), EVP_PKEY_free}; }
inline std::shared_ptr<EVP_PKEY> edKey() {
  return {EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free};
}

inline std::string bn(EVP_PKEY* k, const char* name) {
  BIGNUM* b = nullptr;
  EVP_PKEY_get_bn_param(k, name, &b);
  std::string out(static_cast<size_t>(BN_num_bytes(b)), '\0');
  BN_bn2bin(b, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(b);
  return out;
}

inline boost::json::object publicJwk(EVP_PKEY* k, const std::string& kid) {
  boost::json::object o;
  if (EVP_PKEY_is_a(k, "RSA")) {
    o = {{"kty", "RSA"}, {"n", base64urlEncode(bn(k, OSSL_PKEY_PARAM_RSA_N))},
         {"e", base64urlEncode(bn(k, OSSL_PKEY_PARAM_RSA_E))}};
  } else if (EVP_PKEY_is_a(k, "EC")) {
    o = ecPublicJwk(k);
  } else {
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(k, raw, &len);
    o = {{"kty", "OKP"}, {"crv", "Ed25519"},
         {"x", base64urlEncode(std::string_view(reinterpret_cast<char*>(raw), len))}};
  }
  o["kid"] = kid;
  return o;
}

inline std::string mint(const boost::json::object& header, const boost::json::object& claims,
                        EVP_PKEY* key, Alg alg) {
  std::string input = base64urlEncode(boost::json::serialize(header)) + "." +
                      base64urlEncode(boost::json::serialize(claims));
  auto sig = sign(alg, key, input);
  return input + "." + base64urlEncode(sig.ok() ? *sig : std::string());
}

}  // namespace jitb::jose::testing
