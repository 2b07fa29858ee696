#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace jitb::policies {

// Parses "30s", "15m", "1h", "500ms", "2d" and sums like "1h30m". A bare number is refused so
// that "15" is never silently read as seconds where minutes were meant. Kept here rather than
// shared with broker/core because policies/ must not depend on broker/.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

// "1h30m", "15m", "45s": for messages, the inverse of parseDuration on whole seconds.
std::string formatSeconds(std::chrono::seconds d);

}  // namespace jitb::policies
