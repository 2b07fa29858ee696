// The admin bearer token check.
#include "broker/api/admin.h"

#include <gtest/gtest.h>

#include "tests/unit/api/fixture.h"

namespace jitb::api {
namespace {



http::Request bearer(std::string value) {
  http::Request req;
  if (!value.empty()) req.headers["authorization"] = std::move(value);
  return req;
}

TEST(AdminAuthTest, TheRightTokenPasses) {
  AdminAuth auth("s3cret-token");
  EXPECT_FALSE(auth.check(bearer("Bearer s3cret-token")).has_value());
}

TEST(AdminAuthTest, AMissingTokenIs401WithABearerChallenge) {
  AdminAuth auth("s3cret-token");
  auto r = auth.check(bearer(""));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(testing::errorOf(*r), "unauthenticated") << r->body;
  EXPECT_NE(r->body.find("needs the admin bearer token"), std::string::npos) << r->body;
  bool challenged = false;
  for (const auto& [k, v] : r->headers) challenged |= k == "WWW-Authenticate" && v.rfind("Bearer", 0) == 0;
  EXPECT_TRUE(challenged);
}

TEST(AdminAuthTest, EveryWrongTokenIs401NotValid) {
  AdminAuth auth("s3cret-token");
  // Same length differing in the last byte (the constant-time compare reads every byte), a
  // prefix, an extension, another scheme.
  for (const char* h : {"Bearer s3cret-tokeN", "Bearer s3cret-toke", "Bearer s3cret-token2",
                        "Basic s3cret-token"}) {
    auto r = auth.check(bearer(h));
    ASSERT_TRUE(r.has_value()) << h;
    EXPECT_EQ(r->status, 401) << h;
  }
  auto r = auth.check(bearer("Bearer s3cret-tokeN"));
  EXPECT_NE(r->body.find("is not valid"), std::string::npos) << r->body;
}

TEST(AdminAuthTest, WithNoTokenConfiguredNothingPasses) {
  AdminAuth auth("");
  EXPECT_TRUE(auth.check(bearer("")).has_value());
  EXPECT_TRUE(auth.check(bearer("Bearer ")).has_value());
  EXPECT_TRUE(auth.check(bearer("Bearer x")).has_value());
}

}  // namespace
}  // namespace jitb::api
