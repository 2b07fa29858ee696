// Label values for the HTTP metrics. Each comes from a fixed set: a value a client chose (an
// odd method, a raw path) would make a new series that lives as long as the process, so
// unauthenticated requests could grow /metrics and the broker's memory without bound.
#pragma once

#include <string>
#include <string_view>

namespace jitb::http {

// GET, HEAD, POST, PUT, DELETE, PATCH or OPTIONS as sent (methods are case-sensitive), else
// "other".
std::string_view methodLabel(std::string_view method);

// The status code as digits when it is a valid HTTP status (100-599), else "other".
std::string statusLabel(int status);

}  // namespace jitb::http
