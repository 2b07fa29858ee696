#include "broker/api/oauth.h"

#include <boost/json.hpp>

#include "broker/http/errors.h"
#include "broker/issuing/ports.h"

namespace jitb::api {

namespace json = boost::json;
using core::Code;

http::Response oauthError(Code code, std::string_view error, std::string_view description,
                          const json::object& extra) {
  http::Response r = http::errorResponse({code, std::string(description)}, error, extra);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::string_view oauthErrorName(policies::DenialKind kind) {
  switch (kind) {
    case policies::DenialKind::kGrant: return "invalid_grant";
    case policies::DenialKind::kScope: return "invalid_scope";
    case policies::DenialKind::kTarget: return "invalid_target";
    case policies::DenialKind::kRequest: return "invalid_request";
  }
  return "invalid_grant";
}

http::Response denialResponse(const issuing::Denial& denial, Wire wire) {
  json::object extra;
  if (denial.ticket_closed) extra["reason"] = "ticket_closed";
  // docs/api.md#errors: the basis is returned on denial.
  extra["basis"] = denial.basis;
  http::Response r =
      wire == Wire::kOAuth
          ? oauthError(Code::kInvalidArgument, oauthErrorName(denial.reason), denial.message, extra)
          : http::errorResponse({Code::kPermissionDenied, denial.message}, {}, extra);
  r.rule = denial.rule;
  r.subject = denial.subject;
  return r;
}

http::Response callerRefused(const core::Status& why, Wire wire, bool client_certificate) {
  json::object extra;
  if (why.detail() == issuing::kTicketClosedDetail) extra["reason"] = "ticket_closed";
  // RFC 8693 §2.2.2: an unacceptable subject_token is invalid_request.
  if (wire == Wire::kOAuth)
    return oauthError(Code::kInvalidArgument, "invalid_request",
                      (client_certificate ? "client certificate: " : "subject_token: ") + why.message(),
                      extra);
  return http::errorResponse({Code::kUnauthenticated, why.message()}, {}, extra);
}

http::Response failureResponse(const core::Status& st, Wire wire) {
  if (wire == Wire::kOAuth && st.code() == Code::kResourceExhausted)
    return oauthError(Code::kResourceExhausted, "too_many_requests", st.message());
  return http::errorResponse(st);
}

}  // namespace jitb::api
