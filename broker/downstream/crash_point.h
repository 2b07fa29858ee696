// Fault injection for the crash tests: when JITB_TEST_CRASH_AT names `point`, the process
// kills itself with SIGKILL there, as `kill -9` would. Read once; unset in production.
#pragma once

#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>

namespace jitb::downstream {

inline void crashPoint(std::string_view point) {
  static const std::string armed = [] {
    const char* v = std::getenv("JITB_TEST_CRASH_AT");
    return std::string(v ? v : "");
  }();
  if (!armed.empty() && armed == point) std::raise(SIGKILL);
}

}  // namespace jitb::downstream
