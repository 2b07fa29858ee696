// Helpers shared by the API handlers.
#pragma once

#include <boost/json.hpp>

#include "broker/core/status.h"
#include "broker/http/message.h"
#include "broker/store/records.h"

namespace jitb::api {

// Parses a JSON object body; 415 for another content type, 400 for malformed JSON.
core::StatusOr<boost::json::object> jsonObjectBody(const http::Request& req);

// A lease as docs/api.md#leases-admin shows it.
boost::json::object leaseJson(const store::LeaseRow& l);

// RFC 3339 from Unix milliseconds.
std::string rfc3339Ms(int64_t ms);

}  // namespace jitb::api
