#include "broker/core/log.h"

#include <cstdio>

#include "broker/core/encoding.h"

namespace jitb::core {

namespace {

void appendString(std::string& out, std::string_view v) {
  out += '"';
  appendJsonEscaped(out, v);
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
