// Text encodings shared by the broker and its clients.
#pragma once

#include <string>
#include <string_view>

namespace jitb::core {

// Percent-encodes everything but RFC 3986 unreserved characters: safe in a query value and
// in application/x-www-form-urlencoded bodies.
std::string percentEncode(std::string_view s);
// Standard base64 with padding (RFC 4648 §4), e.g. for HTTP Basic credentials.
std::string base64Encode(std::string_view data);
// SHA-256 of `data`: 32 raw bytes. With SHA-256 fetched once: OpenSSL 3 looks the algorithm
// up, under a lock, on every call that passes EVP_sha256() (about 1% of a token's CPU for the
// audit chain and the caller-token cache).
std::string sha256(std::string_view data);
// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). Text from outside that the broker writes into JSON must be.
bool validUtf8(std::string_view s);
// Lower-case hex of `bytes`.
std::string hexEncode(std::string_view bytes);

}  // namespace jitb::core
