#include "policies/engine/duration.h"

#include <cstdint>
#include <string>

namespace jitb::policies {

namespace {
// Anything past ten years is a typo, and the cap keeps the arithmetic far from overflow.
constexpr int64_t kMaxMillis = int64_t{10} * 366 * 24 * 3600 * 1000;
}  // namespace

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxMillis) return std::nullopt;
      ++i;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit = 1000;
          break;
        case 'm':
          unit = 60 * 1000;
          break;
        case 'h':
          unit = 3600 * 1000;
          break;
        case 'd':
          unit = 24 * 3600 * 1000;
          break;
        default:
          return std::nullopt;
      }
      ++i;
    }
    if (unit == 0) return std::nullopt;  // a bare number, or digits without a unit at the end
    if (n > kMaxMillis / unit) return std::nullopt;
    total += n * unit;
    if (total > kMaxMillis) return std::nullopt;
  }
  return std::chrono::milliseconds(total);
}

std::string formatSeconds(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s <= 0) return "0s";
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "m";
  if (s % 60 != 0) out += std::to_string(s % 60) + "s";
  return out;
}

}  // namespace jitb::policies
