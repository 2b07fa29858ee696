// The signed envelope of ticket events (docs/tickets.md#signed-events):
//   X-Jitbroker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "broker/core/clock.h"
#include "broker/core/status.h"

namespace jitb::tickets {

// OK only when some v1 matches (compared in constant time) and t is within `tolerance` of
// now. Several v1 values are allowed so that a secret can be rotated without downtime.
core::Status verifySignature(std::string_view header, std::string_view body,
                             std::string_view secret, core::TimePoint now,
                             std::chrono::seconds tolerance = std::chrono::seconds(300));

// Jira Cloud's webhook signature: X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>.
// Any other algorithm prefix is refused; compared in constant time.
core::Status verifyHubSignature(std::string_view header, std::string_view body,
                                std::string_view secret);

// The header value for `body` signed at `t` (used by jitctl dev ticket and tests).
std::string signBody(std::string_view body, std::string_view secret, int64_t t);

}  // namespace jitb::tickets
