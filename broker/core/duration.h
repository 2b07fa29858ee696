#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace jitb::core {

// Parses "90s", "15m", "1h", "1h30m", "500ms", "2d". A bare number is refused: a unit is
// required so that "15" is never silently read as seconds where minutes were meant.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

// "1h30m", "15m", "45s", "250ms": the inverse of parseDuration for messages and banners.
std::string formatDuration(std::chrono::milliseconds d);

// RFC 3339 UTC with a Z and whole seconds, e.g. "2026-11-23T18:00:00Z".
std::string formatRfc3339(std::chrono::system_clock::time_point t);
// Accepts RFC 3339 with "Z" or a numeric offset and optional fractional seconds.
std::optional<std::chrono::system_clock::time_point> parseRfc3339(std::string_view text);

}  // namespace jitb::core
