// The builders after the CA and the store, wired as runBroker wires them, over a data folder of
// their own: which routes each adds, in which order, and how each fails.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "broker/issuing/lease_review.h"
#include "broker/server/build_ca.h"
#include "broker/server/build_issuing.h"
#include "broker/server/build_keys.h"
#include "broker/server/build_leases.h"
#include "broker/server/build_policies.h"
#include "broker/server/build_store.h"
#include "broker/server/build_tickets.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace jitb::server {
namespace {

std::vector<std::string> routeNames(const http::Router& router) {
  std::vector<std::string> out;
  for (const auto& r : router.routes()) out.push_back(r.method + " " + r.pattern);
  return out;
}

http::Response call(const http::Router& router, const std::string& method,
                    const std::string& target, std::string body = "") {
  http::Request req;
  req.method = method;
  EXPECT_TRUE(http::parseTarget(target, req).ok()) << target;
  req.body = std::move(body);
  std::string route;
  return router.dispatch(req, route);
}

class BuildWiringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.data_dir = dir_.path();
    cfg_.sqlite_path = dir_.path() + "/broker.db";
    cfg_.public_url = "https://127.0.0.1:8443";
    cfg_.policies_dir = std::string(JITB_SOURCE_DIR) + "/policies/default";
    auto storage = buildStore(cfg_, clock_);
    ASSERT_TRUE(storage.ok()) << storage.status().message();
    storage_ = std::move(*storage);
    auto leases = buildLeases(cfg_, *storage_.store, storage_.sink(), *storage_.audit, clock_, registry_);
    ASSERT_TRUE(leases.ok()) << leases.status().message();
    leases_ = std::move(*leases);
  }
  void TearDown() override {
    if (leases_) leases_->stop();
    if (storage_.close_store) storage_.close_store();
    if (storage_.audit) storage_.audit->close();
  }

  jitb::testing::TempDir dir_;
  Config cfg_;
  core::FakeClock clock_{std::chrono::system_clock::now()};
  metrics::Registry registry_;
  http::Router router_;
  api::AdminAuth admin_{"admin-secret"};
  Storage storage_;
  std::unique_ptr<leases::LeaseManager> leases_;
  issuing::PolicyHolder policies_;
};

TEST_F(BuildWiringTest, LeasesStartOnAnEmptyStore) {
  ASSERT_TRUE(leases_->start().ok());
  EXPECT_TRUE(leases_->ready());
}

TEST_F(BuildWiringTest, HooksAreNullUnlessConfiguredAndAnUnreadableSecretFailsNamingHooks) {
  auto none = buildHooks(cfg_, *storage_.store, *storage_.audit, clock_, registry_, *leases_);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);

  cfg_.hooks = HookSettings{};
  cfg_.hooks->revocation_url = "https://hooks.example/revoked";
  cfg_.hooks->secret_file = "/dev/null/hook.secret";  // under a file: cannot be made
  auto bad = buildHooks(cfg_, *storage_.store, *storage_.audit, clock_, registry_, *leases_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("hooks: ", 0), 0u) << bad.status().message();

  cfg_.hooks->secret_file = dir_.path() + "/hook.secret";
  auto made = buildHooks(cfg_, *storage_.store, *storage_.audit, clock_, registry_, *leases_);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_NE(*made, nullptr);
}

TEST_F(BuildWiringTest, PoliciesLoadIntoTheHolderAndABadFileFailsNamingIt) {
  auto reloader =
      buildPolicies(cfg_, policies_, *storage_.audit, registry_, [] { return core::okStatus(); });
  ASSERT_TRUE(reloader.ok()) << reloader.status().message();
  EXPECT_NE(policies_.get(), nullptr);
  EXPECT_TRUE((*reloader)->reload().ok());

  cfg_.policies_dir = dir_.path() + "/policies";
  std::filesystem::create_directory(cfg_.policies_dir);
  std::ofstream(cfg_.policies_dir + "/broken.yaml") << "grants: [\n";
  issuing::PolicyHolder other;
  auto bad = buildPolicies(cfg_, other, *storage_.audit, registry_, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("broken.yaml"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(other.get(), nullptr);
}

TEST_F(BuildWiringTest, TicketsAddTheTicketThenLeaseThenItsmRoutes) {
  issuing::LeaseReviewer reviewer(policies_, *storage_.store, *leases_, clock_);
  auto tickets = buildTickets(cfg_,
                              {*storage_.store, *leases_, reviewer, *storage_.audit, clock_,
                               registry_, admin_, "webhook-secret"},
                              router_);
  ASSERT_TRUE(tickets.ok()) << tickets.status().message();
  EXPECT_EQ(routeNames(router_),
            (std::vector<std::string>{"POST /v1/tickets/events", "GET /v1/tickets/{id}",
                                      "GET /v1/leases", "GET /v1/reviews", "GET /v1/leases/{id}",
                                      "POST /v1/leases/revoke", "POST /v1/leases/{id}/revoke",
                                      "POST /v1/tickets/servicenow", "POST /v1/tickets/jira"}));
  // An unsigned ticket event is refused with a JSON error, never applied.
  http::Response r = call(router_, "POST", "/v1/tickets/events", "{}");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
}

TEST_F(BuildWiringTest, IssuingAddsTheIssuerRoutesAndRefusesATokenRequestThatIsNoForm) {
  auto ca = buildCa(cfg_, clock_.now());
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  auto keys = buildKeys(cfg_, clock_.now());
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  issuing::LeaseReviewer reviewer(policies_, *storage_.store, *leases_, clock_);
  auto tickets = buildTickets(cfg_,
                              {*storage_.store, *leases_, reviewer, *storage_.audit, clock_,
                               registry_, admin_, "webhook-secret"},
                              router_);
  ASSERT_TRUE(tickets.ok());
  auto pki = buildPki(cfg_, *ca->authority, *storage_.store, clock_, registry_, *leases_, router_);
  http::Router issuing_routes;
  Issuing issuing = buildIssuing(cfg_,
                                 {*keys, *pki, policies_, *tickets->refresher, *leases_,
                                  *storage_.store, *storage_.audit, clock_, registry_, admin_},
                                 issuing_routes);
  EXPECT_EQ(routeNames(issuing_routes),
            (std::vector<std::string>{"GET /v1/ssh/ca.pub", "GET /v1/ssh/krl", "POST /v1/token",
                                      "POST /v1/certificates", "POST /v1/ssh/certificates",
                                      "POST /v1/ssh/revoke", "POST /v1/introspect",
                                      "POST /v1/revoke", "POST /v1/database/credentials",
                                      // ACME (docs/acme.md)
                                      "GET /acme/directory", "HEAD /acme/new-nonce",
                                      "GET /acme/new-nonce", "POST /acme/new-account",
                                      "POST /acme/new-order", "POST /acme/revoke-cert",
                                      "POST /acme/key-change", "POST /acme/account/{id}",
                                      "POST /acme/account/{id}/orders", "POST /acme/order/{id}",
                                      "POST /acme/order/{id}/finalize", "POST /acme/authz/{id}",
                                      "POST /acme/chall/{id}", "POST /acme/cert/{id}",
                                      "POST /v1/acme/eab"}));
  EXPECT_TRUE(issuing.failed.ok());
  ASSERT_NE(issuing.ssh.ca, nullptr);
  // The SSH CA's key is made on first start, owner-only, beside the X.509 CA's.
  struct stat st {};
  ASSERT_EQ(::stat((cfg_.data_dir + "/ca/ssh_ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  http::Response r = call(issuing_routes, "POST", "/v1/token", "");
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
  issuing.lookup_gate->stop();
}

}  // namespace
}  // namespace jitb::server
