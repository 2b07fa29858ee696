#include "policies/engine/glob.h"

namespace jitb::policies {

bool globMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  // Where to resume after the most recent '*' if the greedy attempt fails; only the latest star
  // needs remembering, which is what keeps this linear-ish instead of exponential.
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && pattern[p] == text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace jitb::policies
