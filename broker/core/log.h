// The broker's operational log: one JSON object per line on stderr, each with a level, the
// component that failed or acted, and an event name, so that a cause can be found by grep or a
// log pipeline ({"level":"error","component":"jwks","event":"jwks.fetch_failed",...}).
// Thread-safe: each line is one write.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace jitb::core {

using LogField = std::pair<std::string_view, std::string_view>;

// level: "error" | "warning" | "info". Values are escaped as JSON strings.
void logEvent(std::string_view level, std::string_view component, std::string_view event,
              std::initializer_list<LogField> fields = {});

// The line logEvent writes, without its newline (for tests).
std::string formatLogEvent(std::string_view level, std::string_view component,
                           std::string_view event, std::initializer_list<LogField> fields);

}  // namespace jitb::core
