// The admin routes' role check (api::AdminAuth) with real operator tokens: auditors read,
// admins act, refusals are audited.
#include <gtest/gtest.h>

#include "broker/api/admin.h"
#include "tests/unit/api/fixture.h"
#include "tests/unit/leases/fixture.h"

namespace jitb::api {
namespace {

using operators::Role;

class AdminRolesTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    leases_ = std::make_unique<leases::LeaseManager>(*store_, audit_, clock_, leases::Quotas{},
                                                     metrics_);
    ASSERT_TRUE(leases_->start().ok());
    tokens_ = std::make_unique<operators::OperatorTokens>(*store_, *leases_, audit_, clock_);
    auth_.useOperators(tokens_.get(), &audit_);
  }
  void TearDown() override {
    tokens_.reset();
    leases_.reset();
    StoreFixture::TearDown();
  }
  std::string token(Role role, const std::string& name) {
    auto made = tokens_->issue(role, name, std::chrono::hours(1), {Role::kAdmin, "admin.token", ""});
    EXPECT_TRUE(made.ok());
    return made.ok() ? made->token : "";
  }
  static http::Request request(const std::string& method, const std::string& token) {
    http::Request req;
    req.method = method;
    req.path = "/v1/leases/revoke";
    req.headers["authorization"] = "Bearer " + token;
    return req;
  }

  AdminAuth auth_{"file-token-0123456789"};
  std::unique_ptr<leases::LeaseManager> leases_;
  std::unique_ptr<operators::OperatorTokens> tokens_;
};

TEST_F(AdminRolesTest, AnAuditorReadsButEveryOtherMethodIs403AndAudited) {
  std::string carol = token(Role::kAuditor, "carol");
  operators::Operator who;
  EXPECT_FALSE(auth_.check(request("GET", carol), &who).has_value());
  EXPECT_EQ(who.name, "carol");
  EXPECT_EQ(who.role, Role::kAuditor);
  EXPECT_FALSE(auth_.check(request("HEAD", carol)).has_value());
  size_t before = audit_.count("operator.refused");
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH"}) {
    auto r = auth_.check(request(m, carol));
    ASSERT_TRUE(r.has_value()) << m;
    EXPECT_EQ(r->status, 403) << m;
    EXPECT_EQ(testing::errorOf(*r), "access_denied") << r->body;
  }
  EXPECT_EQ(audit_.count("operator.refused"), before + 4);
  const auto last = audit_.records().back();
  EXPECT_EQ(last.fields.at("name").as_string(), "carol");
  EXPECT_EQ(last.fields.at("path").as_string(), "/v1/leases/revoke");
  // A read that is a POST (a question in a body) is the route's to declare.
  EXPECT_FALSE(auth_.check(request("POST", carol), AdminAuth::Need::kRead).has_value());
}

TEST_F(AdminRolesTest, AnAdminTokenActsAndTheFileTokenIsAdmin) {
  std::string dave = token(Role::kAdmin, "dave");
  operators::Operator who;
  EXPECT_FALSE(auth_.check(request("POST", dave), &who).has_value());
  EXPECT_EQ(who.name, "dave");
  EXPECT_FALSE(who.lease_id.empty());
  EXPECT_FALSE(auth_.check(request("POST", "file-token-0123456789"), &who).has_value());
  EXPECT_EQ(who.name, "admin.token");
  EXPECT_EQ(who.role, Role::kAdmin);
  EXPECT_EQ(audit_.count("operator.refused"), 0u);
}

TEST_F(AdminRolesTest, UnknownTokensAre401AndNotAudited) {
  for (const char* t : {"jbo_00", "file-token-012345678X", "x"}) {
    auto r = auth_.check(request("GET", t));
    ASSERT_TRUE(r.has_value()) << t;
    EXPECT_EQ(r->status, 401) << t;
  }
  EXPECT_EQ(audit_.count("operator.refused"), 0u);
}

}  // namespace
}  // namespace jitb::api
