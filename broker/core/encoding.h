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

}  // namespace jitb::core
