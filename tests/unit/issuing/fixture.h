// A real SQLite store, lease manager, ticket service and lease reviewer over policies given
// as YAML text, on a fake clock: what the broker wires, without HTTP.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/issuing/lease_review.h"
#include "broker/tickets/service.h"
#include "tests/unit/leases/fixture.h"

namespace jitb::testing {

class ReviewFixture : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    leases_ = std::make_unique<leases::LeaseManager>(*store_, audit_, clock_, leases::Quotas{},
                                                     metrics_);
    ASSERT_TRUE(leases_->start().ok());
    reviewer_ = std::make_unique<issuing::LeaseReviewer>(policies_, *store_, *leases_, clock_);
    tickets_ = std::make_unique<tickets::TicketService>(*store_, *leases_, *reviewer_, audit_, clock_);
  }
  void TearDown() override {
    tickets_.reset();
    reviewer_.reset();
    leases_.reset();
    StoreFixture::TearDown();
  }

  void setPolicies(const std::string& yaml) {
    auto p = policies::PolicySet::parseFile(yaml, "p.yaml");
    ASSERT_TRUE(p.ok()) << p.error().toString();
    policies_.set(std::make_shared<const policies::PolicySet>(std::move(p.value())));
  }

  tickets::Ticket ticket(const std::string& id, int version) {
    tickets::Ticket t;
    t.id = id;
    t.state = "approved";
    t.kind = "normal";
    t.requested_by = "alice@example.com";
    t.approved_by = {"bob@example.com"};
    t.subjects = {"s1", "s2"};
    t.access = {"deploy", "read"};
    t.window_start = clock_.now() - std::chrono::hours(1);
    t.window_end = clock_.now() + std::chrono::hours(2);
    t.updated_at = std::chrono::floor<std::chrono::seconds>(clock_.now()) + std::chrono::seconds(version);
    return t;
  }

  // Judges as the issuer does and, when allowed, records the lease as the issuer would (with
  // the same insert check). "" on issuance, else the rule that denied.
  std::string issue(const std::string& lease_id, const tickets::Ticket& t,
                    const std::string& issuer, const std::string& subject,
                    const std::string& grant, store::LeaseRow* out = nullptr) {
    auto set = policies_.get();
    policies::CallerFacts caller{issuer, subject, {{"sub", subject}}};
    policies::IssueRequest req;
    req.grant = grant;
    policies::Decision d =
        policies::evaluate(*set, caller, issuing::ticketFacts(t), req, clock_.now());
    if (!d.allowed) return d.failed_rule;
    store::LeaseRow l = lease(lease_id, t.id, d.ttl.count() * 1000, subject);
    l.grant = d.grant;
    l.caller_issuer = issuer;
    l.caller_claims = boost::json::serialize(caller.claims);
    std::string scope;
    for (const auto& s : d.scopes) scope += (scope.empty() ? "" : " ") + s;
    l.claims = boost::json::serialize(boost::json::object{{"aud", d.audience}, {"scope", scope}});
    // The issuer's own insert check.
    leases::InsertCheck check = issuing::insertCheck(policies_, clock_, t, set, l);
    core::Status st = leases_->record(l, check);
    if (!st.ok()) return "not recorded: " + st.message();
    if (out) *out = l;
    return "";
  }

  store::LeaseState state(const std::string& id) { return (*store_->getLease(id))->state; }
  std::string reason(const std::string& id) { return (*store_->getLease(id))->reason; }

  issuing::PolicyHolder policies_;
  std::unique_ptr<leases::LeaseManager> leases_;
  std::unique_ptr<issuing::LeaseReviewer> reviewer_;
  std::unique_ptr<tickets::TicketService> tickets_;
};

// Two issuers, a token grant that wants one approval, a second for either issuer.
inline constexpr const char* kPolicies = R"(grants:
  - name: deploy
    subjects: {issuer: "https://a.example"}
    tickets: {kinds: [standard, normal], min_approvals: 1}
    token: {audience: api, scopes: [r, w], max_ttl: 1h}
  - name: read
    subjects: {issuer: ["https://a.example", "https://b.example"]}
    token: {audience: read-api, max_ttl: 1h}
)";

}  // namespace jitb::testing
