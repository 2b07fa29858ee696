#pragma once

#include <string_view>

namespace jitb::policies {

// Shell-style match of the whole `text`: '*' matches any run of characters (including '/'),
// '?' exactly one; everything else is literal. Runs in O(|pattern| * |text|) worst case with no
// recursion, so hostile claims or patterns cannot blow the stack or the clock.
bool globMatch(std::string_view pattern, std::string_view text);

}  // namespace jitb::policies
