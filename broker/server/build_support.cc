#include "broker/server/build_support.h"

#include <cstdio>

namespace jitb::server {

void logLine(const std::string& line) {
  std::string l = line + "\n";
  std::fwrite(l.data(), 1, l.size(), stderr);
}

core::Status prefixed(std::string_view prefix, const core::Status& st) {
  return {st.code(), std::string(prefix) + st.message(), st.detail()};
}

}  // namespace jitb::server
