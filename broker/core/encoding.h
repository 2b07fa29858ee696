// Text encodings shared by the broker and its clients.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jitb::core {

// Percent-encodes everything but RFC 3986 unreserved characters: safe in a query value and
// in application/x-www-form-urlencoded bodies.
std::string percentEncode(std::string_view s);
// The broker's one base64 codec (RFC 4648). Standard alphabet with padding (§4: HTTP Basic
// credentials, the OCSP GET form) or URL-safe without padding (§5: JOSE).
enum class Base64 { kStandard, kUrl };
std::string base64Encode(std::string_view data, Base64 alphabet = Base64::kStandard);
inline std::string base64urlEncode(std::string_view data) { return base64Encode(data, Base64::kUrl); }
// Trailing '=' padding is tolerated; anything outside the alphabet, an impossible length, or
// non-zero trailing bits (which would let two texts name one value) gives nullopt.
std::optional<std::string> base64Decode(std::string_view text, Base64 alphabet = Base64::kStandard);
inline std::optional<std::string> base64urlDecode(std::string_view text) {
  return base64Decode(text, Base64::kUrl);
}
// SHA-256 of `data`: 32 raw bytes. With SHA-256 fetched once: OpenSSL 3 looks the algorithm
// up, under a lock, on every call that passes EVP_sha256() (about 1% of a token's CPU for the
// audit chain and the caller-token cache).
std::string sha256(std::string_view data);
// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). Text from outside that the broker writes into JSON must be.
bool validUtf8(std::string_view s);
// Lower-case hex of `bytes`.
std::string hexEncode(std::string_view bytes);
// Appends `v` to `out` as the inside of a JSON string: '"' and '\\' escaped, control
// characters as \u00XX, everything else (UTF-8 included) as it is. For the few places that
// write JSON without Boost.JSON (core's log lines, the load generator's templates).
void appendJsonEscaped(std::string& out, std::string_view v);

}  // namespace jitb::core
