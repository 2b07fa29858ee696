// Flattened JSON JWS (RFC 7515 §7.2.2) as ACME (RFC 8555 §6.2) sends it: {"protected",
// "payload", "signature"}, one signature, no unprotected header. Also what ACME needs of JWKs:
// a public key from one JWK, the RFC 7638 thumbprint, and HS256 for external account binding.
// Stateless and thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "broker/core/status.h"
#include "broker/jose/jws.h"

namespace jitb::jose {

struct FlattenedJws {
  boost::json::object header;  // the protected header
  std::string payload;         // decoded; empty for an ACME POST-as-GET
  std::string signing_input;   // "<protected>.<payload>" as sent
  std::string signature;       // raw bytes
};

// Parses a flattened JWS from a JSON value: exactly the three members, each a base64url
// string, the protected header a JSON object with a string "alg". No signature check.
core::StatusOr<FlattenedJws> decodeFlattened(const boost::json::value& v);
core::StatusOr<FlattenedJws> decodeFlattened(std::string_view json_text,
                                             size_t max_size = 64 * 1024);

// The public key of one JWK (RSA >= 2048, EC P-256, Ed25519); InvalidArgument otherwise, and
// for a JWK that carries private members.
core::StatusOr<std::shared_ptr<EVP_PKEY>> publicKeyOfJwk(const boost::json::object& jwk);
// RFC 7638 thumbprint, base64url: SHA-256 of the required members in lexicographic order.
core::StatusOr<std::string> jwkThumbprint(const boost::json::object& jwk);

// HMAC-SHA256 of `input` under `key` (raw bytes).
std::string hmacSha256(std::string_view key, std::string_view input);
// True when `mac` is HMAC-SHA256(key, input); compared in constant time.
bool verifyHs256(std::string_view key, std::string_view input, std::string_view mac);

}  // namespace jitb::jose
