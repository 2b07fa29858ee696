#include "broker/http/beast_convert.h"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <cctype>

#include "broker/http/errors.h"
#include "broker/http/router.h"

namespace jitb::http {

namespace bhttp = boost::beast::http;

void limitParser(RequestParser& parser, const ServerOptions& opts) {
  parser.body_limit(opts.max_body_bytes);
  parser.header_limit(static_cast<uint32_t>(opts.max_header_bytes));
}

core::Status toRequest(BeastRequest& msg, std::string peer, Request& req) {
  req.method = std::string(msg.method_string());
  req.peer = std::move(peer);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[name] = std::string(f.value());
  }
  req.body = std::move(msg.body());
  return parseTarget(msg.target(), req);
}

BeastResponse toBeastResponse(Response resp, bool keep_alive) {
  BeastResponse res;
  res.version(11);
  res.result(static_cast<unsigned>(resp.status));
  res.set(bhttp::field::server, "jitbroker");
  res.set(bhttp::field::content_type, resp.content_type);
  for (auto& [k, v] : resp.headers) res.set(k, v);
  res.body() = std::move(resp.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

std::optional<Response> readErrorResponse(const boost::system::error_code& ec,
                                          size_t max_body_bytes) {
  if (ec == bhttp::error::end_of_stream) return std::nullopt;
  if (ec == bhttp::error::body_limit) {
    return errorResponse({core::Code::kPayloadTooLarge,
                          "request body exceeds " + std::to_string(max_body_bytes) + " bytes"});
  }
  if (ec == bhttp::error::header_limit) {
    Response resp = errorResponse({core::Code::kInvalidArgument, "request header too large"});
    resp.status = 431;
    return resp;
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category())
    return errorResponse(core::invalidArgument("malformed HTTP request"));
  return std::nullopt;
}

RequestLine requestLineOf(const RequestParser& parser) {
  RequestLine line;
  if (!parser.is_header_done()) return line;
  Request req;
  if (parseTarget(parser.get().target(), req).ok()) line.path = req.path;
  line.method = std::string(parser.get().method_string());
  return line;
}

}  // namespace jitb::http
