// libFuzzer target: arbitrary bytes as what a client sends on a connection, after TLS. The
// broker's session (broker/http/server.cc) only reads from a socket, so this drives the same
// Beast request_parser with the same limits (a fresh parser per message, limitParser()), turns
// each message into an http::Request with the session's own conversion (beast_convert.h),
// dispatches it through a Router whose routes use the broker's body and header parsers, and
// serialises the answer as the session builds it (toBeastResponse()).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>

#include "broker/api/json_body.h"
#include "broker/http/beast_convert.h"
#include "broker/http/errors.h"
#include "broker/http/form.h"
#include "broker/http/router.h"
#include "broker/http/server.h"

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using namespace jitb;

namespace {

// Pipelined requests read from one input; the server handles them one after another.
constexpr int kMaxMessages = 4;

http::Router makeRouter() {
  http::Router r;
  r.add("GET", "/healthz", [](http::Request&) { return http::jsonResponse(200, {{"ok", true}}); });
  r.add("POST", "/v1/token", [](http::Request& req) {
    if (!http::hasContentType(req, "application/x-www-form-urlencoded"))
      return http::errorResponse({core::Code::kUnsupportedMedia, "form expected"});
    auto form = http::parseForm(req.body);
    if (!form.ok()) return http::errorResponse(form.status());
    json::object o;
    for (const auto& [k, v] : *form) o[k] = v;
    return http::jsonResponse(200, o);
  });
  r.add("POST", "/v1/certificates", [](http::Request& req) {
    auto body = api::jsonObjectBody(req);
    if (!body.ok()) return http::errorResponse(body.status());
    return http::jsonResponse(201, {{"bearer", http::bearerToken(req)}, {"keys", body->size()}});
  });
  r.add("GET", "/v1/leases", [](http::Request& req) {
    json::object o;
    for (const auto& [k, v] : req.query) o[k] = v;
    return http::jsonResponse(200, o);
  });
  r.add("GET", "/v1/leases/{id}", [](http::Request& req) {
    return http::jsonResponse(200, {{"id", req.params["id"]}});
  });
  r.add("POST", "/v1/leases/{id}/revoke", [](http::Request& req) {
    return http::jsonResponse(200, {{"id", req.params["id"]}, {"body", req.body.size()}});
  });
  r.add("GET", "/v1/ocsp/{req}", [](http::Request& req) {
    http::Response resp;
    resp.content_type = "application/ocsp-response";
    resp.body = req.params["req"];
    return resp;
  });
  return r;
}

void send(http::Response resp, bool keep_alive) {
  std::ostringstream out;
  out << http::toBeastResponse(std::move(resp), keep_alive);
}

// Session::handle() from the parsed message on; false when the connection would close.
bool handle(const http::Router& router, http::RequestParser& parser) {
  http::Request req;
  core::Status target = http::toRequest(parser.get(), "127.0.0.1:1", req);
  bool keep_alive = parser.get().keep_alive();
  if (!target.ok()) {
    send(http::errorResponse(target), false);
    return false;
  }
  std::string route = "unmatched";
  http::Response resp;
  try {
    resp = router.dispatch(req, route);
  } catch (const std::exception&) {
    resp = http::errorResponse(core::internalError("unhandled exception"));
  }
  send(std::move(resp), keep_alive);
  return keep_alive;
}

// Session::onReadError() and sendError(): the answer and what the access log reads of a
// half-parsed message.
void readError(const http::RequestParser& parser, boost::beast::error_code ec, size_t max_body) {
  auto resp = http::readErrorResponse(ec, max_body);
  if (!resp) return;
  http::RequestLine line = http::requestLineOf(parser);
  if (line.method.empty()) std::abort();  // "-" when unread, never empty
  send(std::move(*resp), false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const http::Router router = makeRouter();
  static const http::ServerOptions limits;
  boost::beast::flat_buffer buffer;
  if (size == 0) return 0;  // nothing sent; and memcpy may not be given an empty buffer's null
  auto in = buffer.prepare(size);
  std::memcpy(in.data(), data, size);
  buffer.commit(size);
  for (int i = 0; i < kMaxMessages && buffer.size() > 0; ++i) {
    http::RequestParser parser;  // fresh per message, as in doRead()
    parser.eager(true);
    http::limitParser(parser, limits);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == bhttp::error::need_more) {
        // All that was sent is in the buffer: this is the peer closing the connection.
        ec = {};
        parser.put_eof(ec);
        break;
      }
      if (ec || used == 0) break;
    }
    if (ec == bhttp::error::end_of_stream) return 0;
    if (ec) {
      readError(parser, ec, limits.max_body_bytes);
      return 0;
    }
    if (!parser.is_done() || !handle(router, parser)) return 0;
  }
  return 0;
}
