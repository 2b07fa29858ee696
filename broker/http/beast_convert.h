// Between Beast's messages and the plain Request/Response that handlers see. The server's
// sessions and the HTTP fuzz target both go through these functions, so what is fuzzed is what
// serves. Beast's http headers only, no Asio sockets: server.cc stays the one translation unit
// with the TLS and socket machinery.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <optional>
#include <string>

#include "broker/core/status.h"
#include "broker/http/message.h"
#include "broker/http/server.h"

namespace jitb::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The limits of ServerOptions on a fresh parser (one per request, so nothing carries over).
void limitParser(RequestParser& parser, const ServerOptions& opts);

// Fills `req` from `msg`: the method, the headers (names lower-cased), the body (moved out of
// `msg`) and `peer`, then the path and query from the target. The status is the target's:
// InvalidArgument when it is not a valid origin-form target (the rest of `req` is set anyway).
core::Status toRequest(BeastRequest& msg, std::string peer, Request& req);

// The message sent for `resp`: HTTP/1.1, Server and Content-Type, the handler's own headers,
// the body with its Content-Length, and Connection as `keep_alive` says.
BeastResponse toBeastResponse(Response resp, bool keep_alive);

// The answer to an error met while reading a request: 413 over the body limit, 431 over the
// header limit, 400 for any other malformed message. nullopt when there is nothing to answer
// (end of stream, timeout, TLS error, reset).
std::optional<Response> readErrorResponse(const boost::system::error_code& ec,
                                          size_t max_body_bytes);

// What the access log names of a request whose reading failed: its method and path as far as
// they were read, "-" for what was not.
struct RequestLine {
  std::string method = "-";
  std::string path = "-";
};
RequestLine requestLineOf(const RequestParser& parser);

}  // namespace jitb::http
