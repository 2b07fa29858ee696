// What the composition root's builders share: the plain stderr line and the error prefixing
// that tells the operator which step failed.
#pragma once

#include <string>
#include <string_view>

#include "broker/core/status.h"

namespace jitb::server {

// One write per line, so that concurrent lines stay whole. Thread-safe.
void logLine(const std::string& line);

// `st` with `prefix` put before its message (same code and detail).
core::Status prefixed(std::string_view prefix, const core::Status& st);

}  // namespace jitb::server
