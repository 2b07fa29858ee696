// What the ACME server answers, without a transport: the adapter (broker/api/acme_api.h) turns
// a Reply into HTTP. Errors are RFC 7807 problem documents with RFC 8555 §6.7 types.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/core/status.h"

namespace jitb::acme {

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Location, Link
};

// The suffix of "urn:ietf:params:acme:error:<type>".
struct Problem {
  int status = 400;
  std::string type;
  std::string detail;
};

inline Problem malformed(std::string d) { return {400, "malformed", std::move(d)}; }
inline Problem unauthorized(std::string d) { return {403, "unauthorized", std::move(d)}; }
inline Problem badNonce(std::string d) { return {400, "badNonce", std::move(d)}; }
inline Problem notFound(std::string d) { return {404, "malformed", std::move(d)}; }

Reply problemReply(const Problem& p);
Reply jsonReply(int status, const boost::json::object& body);
// A store or other internal failure, as serverInternal (503 when it may pass).
Problem problemOf(const core::Status& st);

}  // namespace jitb::acme
