#include <gtest/gtest.h>

#include <chrono>

#include "broker/api/json_body.h"
#include "broker/tickets/webhook.h"

namespace jitb::api {
namespace {

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

http::Request signedRequest(std::string body, std::string content_type, core::TimePoint at,
                            const char* secret = kSecret) {
  http::Request req;
  req.method = "POST";
  req.headers["content-type"] = std::move(content_type);
  int64_t t = std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  req.headers["x-jitbroker-signature"] = tickets::signBody(body, secret, t);
  req.body = std::move(body);
  return req;
}

const core::TimePoint kNow = core::TimePoint{} + std::chrono::hours(24 * 20000);

TEST(SignedJsonObjectBody, ParsesASignedObject) {
  auto body = signedJsonObjectBody(signedRequest(R"({"a":1})", "application/json", kNow),
                                   kSecret, kNow);
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(body->at("a").as_int64(), 1);
}

TEST(SignedJsonObjectBody, TheSignatureIsCheckedBeforeAnythingElse) {
  // Wrong secret, stale signature, or none at all: refused as unauthenticated even where the
  // body or its content type is wrong too.
  for (http::Request req : {signedRequest("not json", "text/plain", kNow, "another-secret-xxxxxxx"),
                            signedRequest(R"({"a":1})", "application/json",
                                          kNow - std::chrono::hours(1))}) {
    auto body = signedJsonObjectBody(req, kSecret, kNow);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.status().code(), core::Code::kUnauthenticated) << body.status().message();
  }
  http::Request unsigned_req = signedRequest("{}", "application/json", kNow);
  unsigned_req.headers.erase("x-jitbroker-signature");
  EXPECT_EQ(signedJsonObjectBody(unsigned_req, kSecret, kNow).status().code(),
            core::Code::kUnauthenticated);
}

TEST(SignedJsonObjectBody, ASignedBodyIsStillCheckedAsJson) {
  EXPECT_EQ(signedJsonObjectBody(signedRequest("{}", "text/plain", kNow), kSecret, kNow)
                .status()
                .code(),
            core::Code::kUnsupportedMedia);
  EXPECT_EQ(signedJsonObjectBody(signedRequest("[1]", "application/json", kNow), kSecret, kNow)
                .status()
                .code(),
            core::Code::kInvalidArgument);
}

}  // namespace
}  // namespace jitb::api
