// Issuing outcomes as HTTP answers: the one place that knows the OAuth error vocabulary
// (RFC 6749 §5.2, RFC 8693) and how denials, refused callers and failed commits look on the
// wire for /v1/token and /v1/certificates (docs/api.md#errors).
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

#include "broker/core/status.h"
#include "broker/http/message.h"
#include "broker/issuing/requests.h"
#include "policies/engine/decision.h"

namespace jitb::api {

// The two wire formats of issuance errors: OAuth (/v1/token) and the broker's own JSON.
enum class Wire { kOAuth, kJson };

// {"error": error, "error_description": description, ...extra} with the status `code` maps to
// and Cache-Control: no-store (RFC 6749 §5.2).
http::Response oauthError(core::Code code, std::string_view error, std::string_view description,
                          const boost::json::object& extra = {});

// invalid_grant, invalid_scope, invalid_target or invalid_request.
std::string_view oauthErrorName(policies::DenialKind kind);

// A policy denial: 400 with its OAuth error, or 403 access_denied; the message, "reason":
// "ticket_closed" when the ticket is closed, and the basis the caller may see. Names the rule
// and the caller for the access log.
http::Response denialResponse(const issuing::Denial& denial, Wire wire);

// A caller whose identity was refused: 400 invalid_request naming what was presented, or 401.
// A certificate revoked because its ticket is closed (issuing::kTicketClosedDetail) says so as
// a denial does, so that a renewing agent stops for good.
http::Response callerRefused(const core::Status& why, Wire wire, bool client_certificate);

// An issuance that failed without a denial: a lease quota is 429 (too_many_requests), the rest
// as their status says (an unrecorded or unaudited lease is 503).
http::Response failureResponse(const core::Status& st, Wire wire);

}  // namespace jitb::api
