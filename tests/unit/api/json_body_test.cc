// JSON bodies of the API and the lease view.
#include "broker/api/json_body.h"

#include <gtest/gtest.h>

namespace jitb::api {
namespace {

http::Request post(std::string content_type, std::string body) {
  http::Request req;
  req.method = "POST";
  if (!content_type.empty()) req.headers["content-type"] = std::move(content_type);
  req.body = std::move(body);
  return req;
}

TEST(JsonBodyTest, AnObjectWithTheJsonContentTypeParses) {
  auto o = jsonObjectBody(post("application/json; charset=utf-8", R"({"ticket":"T-1"})"));
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->at("ticket").as_string(), "T-1");
}

TEST(JsonBodyTest, AnotherOrNoContentTypeIsUnsupportedMedia) {
  for (const char* ct : {"", "text/plain", "application/x-www-form-urlencoded"})
    EXPECT_EQ(jsonObjectBody(post(ct, "{}")).status().code(), core::Code::kUnsupportedMedia) << ct;
}

TEST(JsonBodyTest, MalformedJsonOrANonObjectIsInvalidArgument) {
  for (const char* body : {"", "{", "{\"a\":}", "[1,2]", "\"text\"", "null", "{} trailing"})
    EXPECT_EQ(jsonObjectBody(post("application/json", body)).status().code(),
              core::Code::kInvalidArgument)
        << body;
}

TEST(JsonBodyTest, DeepNestingIsRefusedNotRecursedInto) {
  std::string deep(10'000, '[');
  deep = "{\"a\":" + deep;
  EXPECT_EQ(jsonObjectBody(post("application/json", deep)).status().code(),
            core::Code::kInvalidArgument);
  std::string ok = "{\"a\":" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_TRUE(jsonObjectBody(post("application/json", ok)).ok());
}

TEST(LeaseJsonTest, ATokenLeaseShowsItsJtiAndAnActiveOneNoEnd) {
  store::LeaseRow l;
  l.id = "lease-1";
  l.ticket = "CHG1";
  l.grant = "deploy";
  l.subject = "ci";
  l.jti = "j-1";
  l.issued_at = 1'795'456'800'000;
  l.expires_at = 1'795'456'860'000;
  auto o = leaseJson(l);
  EXPECT_EQ(o.at("kind").as_string(), "token");
  EXPECT_EQ(o.at("state").as_string(), "active");
  EXPECT_EQ(o.at("jti").as_string(), "j-1");
  EXPECT_FALSE(o.contains("serial"));
  EXPECT_TRUE(o.at("ended_at").is_null());
  EXPECT_TRUE(o.at("reason").is_null());
  EXPECT_EQ(o.at("issued_at").as_string(), rfc3339Ms(l.issued_at));
  EXPECT_NE(o.at("issued_at").as_string(), o.at("expires_at").as_string());
}

TEST(LeaseJsonTest, AnEndedCertificateLeaseShowsItsSerialEndAndReason) {
  store::LeaseRow l;
  l.id = "lease-2";
  l.kind = store::LeaseKind::kCertificate;
  l.serial = "0a1b";
  l.state = store::LeaseState::kRevoked;
  l.ended_at = 1'795'456'900'000;
  l.reason = "admin";
  auto o = leaseJson(l);
  EXPECT_EQ(o.at("kind").as_string(), "certificate");
  EXPECT_EQ(o.at("serial").as_string(), "0a1b");
  EXPECT_FALSE(o.contains("jti"));
  EXPECT_EQ(o.at("state").as_string(), "revoked");
  EXPECT_EQ(o.at("ended_at").as_string(), rfc3339Ms(l.ended_at));
  EXPECT_EQ(o.at("reason").as_string(), "admin");
}

}  // namespace
}  // namespace jitb::api
