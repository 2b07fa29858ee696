// Helpers shared by the API handlers.
#pragma once

#include <boost/json.hpp>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/http/message.h"
#include "broker/store/records.h"

namespace jitb::api {

// Parses a JSON object body; 415 for another content type, 400 for malformed JSON.
core::StatusOr<boost::json::object> jsonObjectBody(const http::Request& req);
// The same for a body signed with `secret` (X-Jitbroker-Signature, tickets/webhook.h), whose
// signature is checked first: nothing about an unsigned body is looked at.
core::StatusOr<boost::json::object> signedJsonObjectBody(const http::Request& req,
                                                         std::string_view secret,
                                                         core::TimePoint now);

// A lease as docs/api.md#leases-admin shows it.
boost::json::object leaseJson(const store::LeaseRow& l);

// RFC 3339 from Unix milliseconds.
std::string rfc3339Ms(int64_t ms);

}  // namespace jitb::api
