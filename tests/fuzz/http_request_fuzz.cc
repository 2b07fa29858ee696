// libFuzzer target: arbitrary bytes as what a client sends on a connection, after TLS. The
// broker's session (broker/http/server.cc) only reads from a socket, so this drives the same
// Beast request_parser with the same limits (a fresh parser per message, ServerOptions' body
// and header limits), turns each message into an http::Request the way Session::handle()
// does, dispatches it through a Router whose routes use the broker's body and header parsers,
// and serialises the answer the way Session::write() does. Keep the conversion in step with
// server.cc.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>

#include "broker/api/json_body.h"
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

// Session::write(): the same header set and payload preparation, serialised to a string.
void writeResponse(http::Response resp, bool keep_alive) {
  bhttp::response<bhttp::string_body> res;
  res.version(11);
  res.result(static_cast<unsigned>(resp.status));
  res.set(bhttp::field::server, "jitbroker");
  res.set(bhttp::field::content_type, resp.content_type);
  for (auto& [k, v] : resp.headers) res.set(k, v);
  res.body() = std::move(resp.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
}

// Session::handle() from the parsed message on; false when the connection would close.
bool handle(const http::Router& router, bhttp::request_parser<bhttp::string_body>& parser) {
  auto& msg = parser.get();
  http::Request req;
  req.method = std::string(msg.method_string());
  req.peer = "127.0.0.1:1";
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[name] = std::string(f.value());
  }
  req.body = std::move(msg.body());
  bool keep_alive = msg.keep_alive();
  if (core::Status st = http::parseTarget(msg.target(), req); !st.ok()) {
    writeResponse(http::errorResponse(st), false);
    return false;
  }
  std::string route = "unmatched";
  http::Response resp;
  try {
    resp = router.dispatch(req, route);
  } catch (const std::exception&) {
    resp = http::errorResponse(core::internalError("unhandled exception"));
  }
  writeResponse(std::move(resp), keep_alive);
  return keep_alive;
}

// Session::sendError(): what it reads of a half-parsed message.
void readError(bhttp::request_parser<bhttp::string_body>& parser) {
  if (!parser.is_header_done()) return;
  http::Request req;
  (void)http::parseTarget(parser.get().target(), req);
  writeResponse(http::errorResponse(core::invalidArgument("malformed HTTP request")), false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const http::Router router = makeRouter();
  static const http::ServerOptions limits;
  boost::beast::flat_buffer buffer;
  auto in = buffer.prepare(size);
  std::memcpy(in.data(), data, size);
  buffer.commit(size);
  for (int i = 0; i < kMaxMessages && buffer.size() > 0; ++i) {
    bhttp::request_parser<bhttp::string_body> parser;  // fresh per message, as in doRead()
    parser.eager(true);
    parser.body_limit(limits.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
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
      readError(parser);
      return 0;
    }
    if (!parser.is_done() || !handle(router, parser)) return 0;
  }
  return 0;
}
