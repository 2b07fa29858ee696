#include "broker/http/errors.h"

#include <boost/json.hpp>

namespace jitb::http {

using core::Code;

int httpStatus(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kMethodNotAllowed: return 405;
    case Code::kConflict: return 409;
    case Code::kPayloadTooLarge: return 413;
    case Code::kUnsupportedMedia: return 415;
    case Code::kResourceExhausted: return 429;
    case Code::kUnavailable: return 503;
    case Code::kInternal: return 500;
  }
  return 500;
}

std::string_view errorName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_request";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kPermissionDenied: return "access_denied";
    case Code::kNotFound: return "not_found";
    case Code::kMethodNotAllowed: return "method_not_allowed";
    case Code::kConflict: return "conflict";
    case Code::kPayloadTooLarge: return "payload_too_large";
    case Code::kUnsupportedMedia: return "unsupported_media_type";
    case Code::kResourceExhausted: return "too_many_requests";
    case Code::kUnavailable: return "temporarily_unavailable";
    case Code::kInternal: return "server_error";
  }
  return "server_error";
}

Response jsonResponse(int status, const boost::json::value& body) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

Response errorResponse(const core::Status& status, std::string_view error) {
  return errorResponse(status, error, boost::json::object());
}

Response errorResponse(const core::Status& status, std::string_view error,
                       const boost::json::object& extra) {
  boost::json::object o;
  o["error"] = error.empty() ? errorName(status.code()) : error;
  o["error_description"] = status.message();
  // The two standard members win: a caller's extra must not rename the error the access log
  // and the clients key on (nor make it a non-string).
  for (const auto& kv : extra)
    if (kv.key() != "error" && kv.key() != "error_description") o[kv.key()] = kv.value();
  Response r = jsonResponse(httpStatus(status.code()), o);
  r.error = o["error"].as_string();
  if (status.code() == Code::kUnauthenticated) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (status.code() == Code::kUnavailable) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace jitb::http
