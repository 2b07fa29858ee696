// application/x-www-form-urlencoded bodies (RFC 6749 §3.2, RFC 7662, RFC 7009).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "broker/core/status.h"
#include "broker/http/message.h"

namespace jitb::http {

// Decodes the body; a repeated parameter is an error (RFC 6749 §3.2: parameters MUST NOT be
// included more than once).
core::StatusOr<std::map<std::string, std::string>> parseForm(std::string_view body);

// True when Content-Type names `type` (parameters such as charset are ignored).
bool hasContentType(const Request& req, std::string_view type);

// The token of an "Authorization: Bearer <token>" header, or empty.
std::string_view bearerToken(const Request& req);

}  // namespace jitb::http
