// The one place where status codes become HTTP responses (docs/api.md#errors): JSON bodies
// {"error", "error_description"}; 401s carry WWW-Authenticate: Bearer.
#pragma once

#include <boost/json/fwd.hpp>
#include <string_view>

#include "broker/core/status.h"
#include "broker/http/message.h"

namespace jitb::http {

int httpStatus(core::Code code);
std::string_view errorName(core::Code code);

// `error` overrides the default name, for endpoints with their own vocabulary (RFC 6749's
// invalid_grant, invalid_scope, ...).
Response errorResponse(const core::Status& status, std::string_view error = {});
// The same body with `extra` members after error_description (a denial's basis, ...), built
// as one object and serialized once. An extra "error" or "error_description" is ignored.
Response errorResponse(const core::Status& status, std::string_view error,
                       const boost::json::object& extra);
Response jsonResponse(int status, const boost::json::value& body);

}  // namespace jitb::http
