// libFuzzer target: arbitrary bytes as an ACME request body (flattened JSON JWS), through
// everything the ACME server does with one before it reads the store: the JWS members, the
// protected header's jwk (key import, RFC 7638 thumbprint, signature check) and an external
// account binding's HS256 MAC.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/jose/flattened.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace jose = jitb::jose;
  auto jws = jose::decodeFlattened(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!jws.ok()) return 0;
  if (auto* jwk = jws->header.if_contains("jwk"); jwk && jwk->is_object()) {
    (void)jose::jwkThumbprint(jwk->as_object());
    auto key = jose::publicKeyOfJwk(jwk->as_object());
    auto alg = jose::algFromName(jws->header.contains("alg") && jws->header.at("alg").is_string()
                                     ? std::string_view(jws->header.at("alg").as_string())
                                     : std::string_view());
    if (key.ok() && alg) (void)jose::verifySignature(*alg, key->get(), jws->signing_input, jws->signature);
  }
  (void)jose::verifyHs256("k", jws->signing_input, jws->signature);
  // The payload of newAccount carries the binding, itself a flattened JWS.
  boost::json::error_code ec;
  boost::json::value p = boost::json::parse(jws->payload, ec);
  if (!ec && p.is_object())
    if (auto* eab = p.as_object().if_contains("externalAccountBinding")) (void)jose::decodeFlattened(*eab);
  return 0;
}
