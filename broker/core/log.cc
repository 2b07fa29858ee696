#include "broker/core/log.h"

#include <cstdio>

namespace jitb::core {

namespace {

void appendString(std::string& out, std::string_view v) {
  out += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

}  // namespace

std::string formatLogEvent(std::string_view level, std::string_view component,
                           std::string_view event, std::initializer_list<LogField> fields) {
  std::string out = "{\"level\":";
  appendString(out, level);
  out += ",\"component\":";
  appendString(out, component);
  out += ",\"event\":";
  appendString(out, event);
  for (const auto& [k, v] : fields) {
    out += ',';
    appendString(out, k);
    out += ':';
    appendString(out, v);
  }
  out += '}';
  return out;
}

void logEvent(std::string_view level, std::string_view component, std::string_view event,
              std::initializer_list<LogField> fields) {
  std::string line = formatLogEvent(level, component, event, fields) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace jitb::core
