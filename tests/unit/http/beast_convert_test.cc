#include "broker/http/beast_convert.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>

namespace jitb::http {
namespace {

namespace bhttp = boost::beast::http;

BeastRequest message(bhttp::verb verb, const std::string& target) {
  BeastRequest msg{verb, target, 11};
  msg.set("X-Request-ID", "abc");
  msg.set(bhttp::field::content_type, "application/json");
  msg.body() = "{\"a\":1}";
  return msg;
}

TEST(BeastConvert, RequestHasLowerCaseHeadersBodyPeerAndDecodedTarget) {
  BeastRequest msg = message(bhttp::verb::post, "/v1/leases/a%20b?state=live&x=%2F");
  Request req;
  ASSERT_TRUE(toRequest(msg, "10.0.0.1:5000", req).ok());
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.peer, "10.0.0.1:5000");
  EXPECT_EQ(req.header("x-request-id"), "abc");
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.headers.count("X-Request-ID"), 0u);
  EXPECT_EQ(req.body, "{\"a\":1}");
  EXPECT_EQ(req.path, "/v1/leases/a b");
  EXPECT_EQ(req.query["state"], "live");
  EXPECT_EQ(req.query["x"], "/");
}

TEST(BeastConvert, BadTargetIsInvalidArgumentWithTheRestFilled) {
  BeastRequest msg = message(bhttp::verb::get, "http://elsewhere/x");
  Request req;
  core::Status st = toRequest(msg, "p", req);
  EXPECT_EQ(st.code(), core::Code::kInvalidArgument);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.header("x-request-id"), "abc");
}

TEST(BeastConvert, ResponseCarriesStatusHeadersBodyAndConnection) {
  Response resp;
  resp.status = 201;
  resp.content_type = "application/pkix-cert";
  resp.headers = {{"Cache-Control", "no-store"}};
  resp.body = "hello";
  std::ostringstream out;
  out << toBeastResponse(resp, false);
  std::string wire = out.str();
  EXPECT_EQ(wire.rfind("HTTP/1.1 201 Created\r\n", 0), 0u) << wire;
  EXPECT_NE(wire.find("Server: jitbroker\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Content-Type: application/pkix-cert\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Cache-Control: no-store\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Content-Length: 5\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos) << wire;
  EXPECT_EQ(wire.substr(wire.size() - 9), "\r\n\r\nhello");

  BeastResponse kept = toBeastResponse(resp, true);
  EXPECT_TRUE(kept.keep_alive());
}

TEST(BeastConvert, ReadErrorsAnsweredByKind) {
  auto too_big = readErrorResponse(bhttp::error::body_limit, 1024);
  ASSERT_TRUE(too_big.has_value());
  EXPECT_EQ(too_big->status, 413);
  EXPECT_NE(too_big->body.find("request body exceeds 1024 bytes"), std::string::npos);

  auto header = readErrorResponse(bhttp::error::header_limit, 1024);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->status, 431);
  EXPECT_EQ(header->error, "invalid_request");

  auto bad = readErrorResponse(bhttp::error::bad_method, 1024);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("malformed HTTP request"), std::string::npos);

  EXPECT_FALSE(readErrorResponse(bhttp::error::end_of_stream, 1024).has_value());
  EXPECT_FALSE(readErrorResponse(boost::beast::error::timeout, 1024).has_value());
}

TEST(BeastConvert, RequestLineOfAHalfReadMessage) {
  RequestParser none;
  RequestLine unread = requestLineOf(none);
  EXPECT_EQ(unread.method, "-");
  EXPECT_EQ(unread.path, "-");

  RequestParser parser;
  ServerOptions opts;
  opts.max_body_bytes = 4;
  limitParser(parser, opts);
  parser.eager(true);
  boost::beast::error_code ec;
  std::string wire =
      "PUT /a%2Fb?q=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n";
  parser.put(boost::asio::buffer(wire), ec);
  EXPECT_EQ(ec, bhttp::error::body_limit);
  RequestLine line = requestLineOf(parser);
  EXPECT_EQ(line.method, "PUT");
  EXPECT_EQ(line.path, "/a/b");
}

}  // namespace
}  // namespace jitb::http
