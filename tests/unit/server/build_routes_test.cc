#include "broker/server/build_routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>

#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_audit_sink.h"
#include "tests/support/temp_dir.h"

namespace jitb::server {
namespace {

namespace json = boost::json;
using ::testing::_;
using ::testing::Return;

http::Response call(const http::Router& router, const std::string& method,
                    const std::string& target, const std::string& token = "") {
  http::Request req;
  req.method = method;
  EXPECT_TRUE(http::parseTarget(target, req).ok()) << target;
  if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
  std::string route;
  return router.dispatch(req, route);
}

TEST(Readiness, ReadyWhenEveryCheckHolds) {
  Readiness ready;
  ready.add("store", [] { return true; });
  ready.add("keys", [] { return true; });
  http::Response r = ready.respond();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), (json::value{{"status", "ready"}}));
}

TEST(Readiness, AnswersServiceUnavailableNamingEachFailingCheckInOrder) {
  Readiness ready;
  bool leases_ready = false;
  ready.add("store", [] { return true; });
  ready.add("policies", [] { return false; });
  ready.add("leases", [&leases_ready] { return leases_ready; });
  http::Response r = ready.respond();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body),
            (json::value{{"status", "not_ready"}, {"failing", {"policies", "leases"}}}));
  leases_ready = true;  // checks run on every probe, not once
  EXPECT_EQ(json::parse(ready.respond().body).at("failing"), (json::array{"policies"}));
}

TEST(ProbeRoutes, HealthzReadyzAndMetrics) {
  http::Router router;
  Readiness ready;
  ready.add("store", [] { return false; });
  metrics::Registry registry;
  registry.declareGauge("jitbroker_test_gauge", "A gauge for this test.");
  registry.set("jitbroker_test_gauge", {}, 7);
  addProbeRoutes(router, ready, registry);

  http::Response health = call(router, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(json::parse(health.body), (json::value{{"status", "ok"}}));
  http::Response readyz = call(router, "GET", "/readyz");
  EXPECT_EQ(readyz.status, 503);
  EXPECT_NE(readyz.body.find("\"store\""), std::string::npos) << readyz.body;
  http::Response metrics = call(router, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("jitbroker_test_gauge 7"), std::string::npos) << metrics.body;
}

TEST(OpenIdConfiguration, ListsTheEndpointsUnderThePublicUrl) {
  http::Router router;
  addOpenIdConfiguration(router, "https://broker.example:9443");
  http::Response r = call(router, "GET", "/.well-known/openid-configuration");
  ASSERT_EQ(r.status, 200);
  json::value doc = json::parse(r.body);
  const std::string u = "https://broker.example:9443";
  EXPECT_EQ(doc.at("issuer"), json::value(u));
  EXPECT_EQ(doc.at("jwks_uri"), json::value(u + "/.well-known/jwks.json"));
  EXPECT_EQ(doc.at("token_endpoint"), json::value(u + "/v1/token"));
  EXPECT_EQ(doc.at("introspection_endpoint"), json::value(u + "/v1/introspect"));
  EXPECT_EQ(doc.at("revocation_endpoint"), json::value(u + "/v1/revoke"));
  EXPECT_EQ(doc.at("grant_types_supported"),
            (json::array{"urn:ietf:params:oauth:grant-type:token-exchange"}));
  EXPECT_EQ(doc.at("id_token_signing_alg_values_supported"), (json::array{"ES256"}));
}

class KeyRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = jose::TokenSigner::loadOrCreate(dir_.path() + "/jwt", clock_.now());
    ASSERT_TRUE(s.ok()) << s.status().message();
    signer_ = std::move(*s);
    addKeyRoutes(router_, *signer_, admin_, clock_, audit_);
  }
  jitb::testing::TempDir dir_;
  core::FakeClock clock_{std::chrono::system_clock::now()};
  jitb::testing::MockAuditSink audit_;
  api::AdminAuth admin_{"admin-secret"};
  std::unique_ptr<jose::TokenSigner> signer_;
  http::Router router_;
};

TEST_F(KeyRoutesTest, RotateNeedsTheAdminTokenAndChangesNothingWithout) {
  EXPECT_CALL(audit_, appendAll(_)).Times(0);
  const std::string kid = signer_->kid();
  EXPECT_EQ(call(router_, "POST", "/v1/keys/rotate").status, 401);
  EXPECT_EQ(call(router_, "POST", "/v1/keys/rotate", "wrong").status, 401);
  EXPECT_EQ(signer_->kid(), kid);
}

TEST_F(KeyRoutesTest, RotateAuditsAndKeepsThePreviousKeyInTheJwks) {
  const std::string old_kid = signer_->kid();
  std::vector<audit::Record> written;
  EXPECT_CALL(audit_, appendAll(_)).WillOnce([&](std::vector<audit::Record> r) {
    written = std::move(r);
    return core::okStatus();
  });
  clock_.advance(std::chrono::seconds(1));
  http::Response r = call(router_, "POST", "/v1/keys/rotate", "admin-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("previous_kid"), json::value(old_kid));
  EXPECT_EQ(body.at("kid"), json::value(signer_->kid()));
  EXPECT_NE(signer_->kid(), old_kid);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].event, "keys.rotated");

  http::Response jwks = call(router_, "GET", "/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  EXPECT_NE(jwks.body.find(old_kid), std::string::npos);
  EXPECT_NE(jwks.body.find(signer_->kid()), std::string::npos);
}

}  // namespace
}  // namespace jitb::server
