// One JSON line per request. Only what is listed here is ever logged: never a header, a body
// or a query string, so tokens and keys cannot leak into the access log.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace jitb::http {

struct AccessRecord {
  std::chrono::system_clock::time_point time;
  std::string method;
  std::string path;  // without query
  std::string route;
  int status = 0;
  long long duration_us = 0;
  std::string subject;  // caller, when a handler authenticated one
  std::string peer;
  std::string rule;   // the policy rule that denied the request, when one did
  std::string error;  // for 4xx/5xx: the body's "error" code (never its description)
};

std::string formatAccessLog(const AccessRecord& r);

}  // namespace jitb::http
