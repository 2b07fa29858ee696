#include "broker/issuing/lease_review.h"

#include "tests/unit/issuing/fixture.h"

namespace jitb::issuing {
namespace {

using store::LeaseState;
using namespace std::chrono_literals;

constexpr const char* kA = "https://a.example";
constexpr const char* kB = "https://b.example";

class LeaseReviewTest : public testing::ReviewFixture {
 protected:
  void SetUp() override {
    ReviewFixture::SetUp();
    setPolicies(testing::kPolicies);
    t_ = ticket("CHG1", 1);
    ASSERT_TRUE(tickets_->apply(t_, "webhook")->applied);
    ASSERT_EQ(issue("s1-deploy", t_, kA, "s1", "deploy"), "");
    ASSERT_EQ(issue("s2-deploy", t_, kA, "s2", "deploy"), "");
    ASSERT_EQ(issue("s1-read", t_, kB, "s1", "read"), "");
  }
  // Applies the next version of the ticket after `change`; returns how many leases it ended.
  size_t change(const std::function<void(tickets::Ticket&)>& edit) {
    tickets::Ticket t = ticket("CHG1", ++version_);
    edit(t);
    auto r = tickets_->apply(t, "webhook");
    EXPECT_TRUE(r.ok() && r->applied) << r.status().message();
    return r.ok() ? r->revoked : 0;
  }
  void expectAllRevoked(const std::string& why) {
    for (const char* id : {"s1-deploy", "s2-deploy", "s1-read"}) {
      EXPECT_EQ(state(id), LeaseState::kRevoked) << id;
      EXPECT_EQ(reason(id), why) << id;
    }
  }
  tickets::Ticket t_;
  int version_ = 1;
};

// Each of these withdrew the approval without a state change; every lease used to stay active.
TEST_F(LeaseReviewTest, ApproversEmptiedRevokes) {
  EXPECT_EQ(change([](auto& t) { t.approved_by.clear(); }), 3u);
  expectAllRevoked("ticket_changed");
}

TEST_F(LeaseReviewTest, RequesterAsTheOnlyApproverRevokes) {
  EXPECT_EQ(change([](auto& t) { t.approved_by = {t.requested_by}; }), 3u);
  expectAllRevoked("ticket_changed");
}

TEST_F(LeaseReviewTest, KindChangedToEmergencyRevokesUnderGrantsWithoutBreakGlass) {
  EXPECT_EQ(change([](auto& t) { t.kind = "emergency"; }), 3u);
  expectAllRevoked("ticket_changed");
}

TEST_F(LeaseReviewTest, WindowStartMovedIntoTheFutureRevokes) {
  EXPECT_EQ(change([this](auto& t) { t.window_start = clock_.now() + 10min; }), 3u);
  expectAllRevoked("ticket_changed");
}

TEST_F(LeaseReviewTest, RemovingASubjectOrGrantRevokesOnlyTheLeasesThatReliedOnIt) {
  EXPECT_EQ(change([](auto& t) {
              t.subjects = {"s1"};
              t.access = {"deploy"};
            }),
            2u);
  EXPECT_EQ(state("s1-deploy"), LeaseState::kActive);
  EXPECT_EQ(state("s2-deploy"), LeaseState::kRevoked);
  EXPECT_EQ(state("s1-read"), LeaseState::kRevoked);
}

TEST_F(LeaseReviewTest, AChangeTheDecisionStillAllowsEndsNothing) {
  EXPECT_EQ(change([this](auto& t) {
              t.approved_by = {"carol@example.com", "dave@example.com"};
              t.window_end = clock_.now() + 3h;
            }),
            0u);
  for (const char* id : {"s1-deploy", "s2-deploy", "s1-read"})
    EXPECT_EQ(state(id), LeaseState::kActive) << id;
}

TEST_F(LeaseReviewTest, APolicyReloadEndsWhatTheNewPoliciesRefuse) {
  // deploy now needs two approvals and the second issuer loses read.
  setPolicies(R"(grants:
  - name: deploy
    subjects: {issuer: "https://a.example"}
    tickets: {min_approvals: 2}
    token: {audience: api, scopes: [r, w], max_ttl: 1h}
  - name: read
    subjects: {issuer: "https://a.example"}
    token: {audience: read-api, max_ttl: 1h}
)");
  auto ended = reviewer_->reviewAll("policy_changed");
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, 3u);
  expectAllRevoked("policy_changed");
}

TEST_F(LeaseReviewTest, AReloadThatStillAllowsEndsNothing) {
  setPolicies(testing::kPolicies);
  auto ended = reviewer_->reviewAll("policy_changed");
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, 0u);
}

TEST_F(LeaseReviewTest, ATokensAudienceOrScopesNoLongerGrantedIsRevoked) {
  setPolicies(R"(grants:
  - name: deploy
    subjects: {issuer: "https://a.example"}
    token: {audience: api, scopes: [r], max_ttl: 1h}
  - name: read
    subjects: {issuer: ["https://a.example", "https://b.example"]}
    token: {audience: other-api, max_ttl: 1h}
)");
  ASSERT_EQ(*reviewer_->reviewAll("policy_changed"), 3u);
}

// The issuer binding: a `sub` equal to a subject's, from an issuer the grant does not name.
TEST_F(LeaseReviewTest, ASubjectFromAnotherIssuerIsNotTheSubject) {
  EXPECT_EQ(issue("b-deploy", t_, kB, "s1", "deploy"), "subject.issuer");
  EXPECT_FALSE(store_->getLease("b-deploy")->has_value());
}

// The insert reads the ticket again: a narrowing event applied between the decision and the
// insert (its review found no lease yet) still ends the lease before it is handed out.
TEST_F(LeaseReviewTest, ALeaseJudgedOnAStaleTicketIsJudgedAgainAtItsInsert) {
  tickets::Ticket judged = ticket("CHG1", 1);
  change([](auto& t) { t.subjects = {"s1"}; });
  std::string r = issue("late", judged, kA, "s2", "deploy");
  EXPECT_NE(r.find("not recorded"), std::string::npos) << r;
  EXPECT_EQ(state("late"), LeaseState::kRevoked);
  EXPECT_EQ(reason("late"), "ticket_changed");
  // A change that still allows it: judged again, and handed out.
  EXPECT_EQ(issue("late-ok", judged, kA, "s1", "deploy"), "");
  EXPECT_EQ(state("late-ok"), LeaseState::kActive);
}

TEST_F(LeaseReviewTest, ALeaseJudgedUnderReplacedPoliciesIsJudgedAgainAtItsInsert) {
  auto old_set = policies_.get();
  setPolicies(R"(grants:
  - name: deploy
    subjects: {issuer: "https://b.example"}
    token: {audience: api, scopes: [r, w], max_ttl: 1h}
  - name: read
    token: {audience: read-api, max_ttl: 1h}
)");
  auto new_set = policies_.get();
  policies_.set(old_set);
  // Judged under the old set; the new one is in force by the time the insert commits.
  store::LeaseRow l = lease("swap", "CHG1", 60'000, "s1");
  l.caller_issuer = kA;
  l.claims = R"({"aud":"api","scope":"r w"})";
  // Judged on the ticket as stored, under the old set.
  leases::InsertCheck check = insertCheck(policies_, clock_, t_, old_set, l);
  policies_.set(new_set);
  EXPECT_EQ(leases_->record(l, check).code(), core::Code::kUnavailable);
  EXPECT_EQ(state("swap"), LeaseState::kRevoked);
}

TEST(LeaseRequest, ATokenLeaseIsJudgedForItsAudienceAndScopes) {
  store::LeaseRow l;
  l.grant = "deploy";
  l.claims = R"({"aud":"api","scope":"r w"})";
  policies::IssueRequest r = requestOf(l);
  EXPECT_EQ(r.kind, policies::CredentialKind::kToken);
  EXPECT_EQ(r.audience, "api");
  EXPECT_EQ(r.scopes, (std::vector<std::string>{"r", "w"}));
  l.kind = store::LeaseKind::kCertificate;
  EXPECT_EQ(requestOf(l).kind, policies::CredentialKind::kCertificate);
}

}  // namespace
}  // namespace jitb::issuing

namespace jitb::issuing {
namespace {

// A lease recorded before the caller was kept: judged on what needs no caller, so that the
// upgrade's first review does not end it, and it still ends when its ticket narrows.
TEST_F(LeaseReviewTest, ALeaseWithoutItsCallerIsJudgedOnTheTicketAlone) {
  store::LeaseRow old = lease("legacy", "CHG1", 600'000, "s2");
  old.grant = "deploy";
  ASSERT_TRUE(leases_->record(old).ok());
  ASSERT_EQ(*reviewer_->reviewAll("policy_changed"), 0u);
  EXPECT_EQ(state("legacy"), LeaseState::kActive);
  change([](auto& t) { t.subjects = {"s1"}; });
  EXPECT_EQ(state("legacy"), LeaseState::kRevoked);
}

}  // namespace
}  // namespace jitb::issuing
