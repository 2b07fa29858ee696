// Separation of duties, min_approvals and caller.subject against other spellings of the same
// person, and against the sources' immutable ids.
#include <gtest/gtest.h>

#include "policies/engine/policy.h"

namespace jitb::policies {
namespace {

using std::chrono::hours;

constexpr const char* kPolicies = R"(grants:
  - name: deploy
    token: {audience: "deploy-api"}
  - name: two-person
    tickets: {min_approvals: 2}
    token: {audience: "db"}
  - name: lax
    tickets: {separation_of_duties: false, min_approvals: 2}
    token: {audience: "lax"}
)";

const TimePoint kNow = Clock::from_time_t(1'795'456'800);
const std::string kSub = "repo:acme/api:environment:prod";

class EvaluateIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = PolicySet::parseFile(kPolicies, "test.yaml");
    ASSERT_TRUE(p.ok()) << p.error().toString();
    set_ = std::move(p).value();
    caller_.issuer = "https://issuer.example";
    caller_.subject = kSub;
    ticket_.id = "CHG1";
    ticket_.state = "approved";
    ticket_.kind = "normal";
    ticket_.requested_by = "alice@example.com";
    ticket_.approved_by = {"bob@example.com"};
    ticket_.subjects = {kSub};
    ticket_.access = {"deploy"};
    ticket_.window_start = kNow - hours(1);
    ticket_.window_end = kNow + hours(1);
  }

  Decision eval() const { return evaluate(set_, caller_, ticket_, req_, kNow); }

  // The rule that denied, or "allowed".
  std::string outcome() const {
    Decision d = eval();
    return d.allowed ? "allowed" : d.failed_rule;
  }

  PolicySet set_;
  CallerFacts caller_;
  TicketFacts ticket_;
  IssueRequest req_;
};

TEST_F(EvaluateIdentityTest, TheBaseTicketIsAllowed) { EXPECT_EQ(outcome(), "allowed"); }

TEST_F(EvaluateIdentityTest, OtherSpellingsOfTheRequesterAreSelfApproval) {
  for (const char* self : {"alice@example.com ", " alice@example.com", "\u00a0alice@example.com",
                           "\uff41lice@example.com", "ALICE@EXAMPLE.COM\u3000",
                           "\uff21\uff2c\uff29\uff23\uff25@example.com"}) {
    ticket_.approved_by = {"bob@example.com", self};
    Decision d = eval();
    EXPECT_FALSE(d.allowed) << self;
    EXPECT_EQ(d.failed_rule, "ticket.separation_of_duties") << self;
    EXPECT_NE(d.message.find("is the requester"), std::string::npos) << d.message;
  }
}

TEST_F(EvaluateIdentityTest, ASpelledRequesterStillMatchesThePlainApprover) {
  ticket_.requested_by = "Alice@Example.com ";
  ticket_.approved_by = {"alice@example.com"};
  EXPECT_EQ(outcome(), "ticket.separation_of_duties");
}

TEST_F(EvaluateIdentityTest, AnApproverWithAFormatCharacterIsNeverSomeoneElse) {
  // Intake refuses these; a ticket stored before that, or fed to jitctl, must still fail.
  for (const char* hidden : {"alice@example.com\u200b", "\u202ealice@example.com", "bob\t"}) {
    ticket_.approved_by = {"bob@example.com", hidden};
    Decision d = eval();
    EXPECT_EQ(d.failed_rule, "ticket.separation_of_duties") << hidden;
    EXPECT_NE(d.message.find("control or format"), std::string::npos) << d.message;
  }
  ticket_.approved_by = {"bob@example.com"};
  ticket_.requested_by = "alice@example.com\u200b";
  EXPECT_EQ(outcome(), "ticket.separation_of_duties");
}

TEST_F(EvaluateIdentityTest, AnApproverSpellingASubjectIsASubject) {
  ticket_.approved_by = {"bob@example.com", "REPO:acme/api:environment:prod "};
  Decision d = eval();
  EXPECT_EQ(d.failed_rule, "ticket.separation_of_duties");
  EXPECT_NE(d.message.find("is a subject"), std::string::npos) << d.message;
}

TEST_F(EvaluateIdentityTest, TwoSpellingsOfOneApproverCountOnce) {
  ticket_.access = {"two-person"};
  for (const char* again : {"bob@example.com ", "BOB@example.com", "\uff42ob@example.com",
                            "\u00a0bob@example.com\u2003"}) {
    ticket_.approved_by = {"bob@example.com", again};
    Decision d = eval();
    EXPECT_EQ(d.failed_rule, "ticket.min_approvals") << again;
    EXPECT_NE(d.message.find("has 1 distinct approval(s)"), std::string::npos) << d.message;
  }
  ticket_.approved_by = {"bob@example.com", "carol@example.com "};
  EXPECT_EQ(outcome(), "allowed");
}

TEST_F(EvaluateIdentityTest, UnusableApproversCountForNobody) {
  ticket_.access = {"lax"};  // no separation of duties: only the count can stop them
  ticket_.approved_by = {"bob@example.com", "carol\u200b@example.com"};
  EXPECT_EQ(outcome(), "ticket.min_approvals");
  ticket_.approved_by = {"bob@example.com", "   "};
  EXPECT_EQ(outcome(), "ticket.min_approvals");
}

TEST_F(EvaluateIdentityTest, TheCallersSubjectIsComparedNormalised) {
  caller_.subject = "Repo:Acme/API:environment:prod";
  EXPECT_EQ(outcome(), "allowed");
  ticket_.subjects = {"repo:acme/api:environment:prod "};
  caller_.subject = kSub;
  EXPECT_EQ(outcome(), "allowed");
  caller_.subject = kSub + "\u200b";
  EXPECT_EQ(outcome(), "caller.subject");
  caller_.subject = "repo:acme/api:environment:staging";
  EXPECT_EQ(outcome(), "caller.subject");
}

TEST_F(EvaluateIdentityTest, AnApproverWithTheRequestersIdIsTheRequester) {
  // The requester renamed, or approving under another address: the names differ, the id not.
  ticket_.requested_by = "alice@example.com";
  ticket_.requested_by_id = "6816f79c1b3300101c6e5f09e54bcb0a";
  ticket_.approved_by = {"bob@example.com", "alice.smith@example.org"};
  ticket_.approved_by_ids = {"a8f98bb0eb32010045e1a5115206fe3a",
                             "6816f79c1b3300101c6e5f09e54bcb0a"};
  Decision d = eval();
  EXPECT_EQ(d.failed_rule, "ticket.separation_of_duties");
  EXPECT_NE(d.message.find("'alice.smith@example.org' is the requester"), std::string::npos)
      << d.message;
  EXPECT_NE(d.message.find("same account"), std::string::npos) << d.message;

  ticket_.approved_by_ids[1] = "f2aa2c9b1b3300101c6e5f09e54bcb77";
  EXPECT_EQ(outcome(), "allowed");
}

TEST_F(EvaluateIdentityTest, EmptyIdsMatchNothing) {
  ticket_.requested_by_id = "";
  ticket_.approved_by_ids = {""};
  EXPECT_EQ(outcome(), "allowed");
  ticket_.requested_by_id = "557058:alice";
  ticket_.approved_by_ids = {};  // a ticket from the signed webhook, without ids
  EXPECT_EQ(outcome(), "allowed");
}

TEST_F(EvaluateIdentityTest, OneAccountUnderTwoNamesCountsOnce) {
  ticket_.access = {"two-person"};
  ticket_.approved_by = {"bob@example.com", "robert@example.com"};
  ticket_.approved_by_ids = {"557058:bob", "557058:bob"};
  Decision d = eval();
  EXPECT_EQ(d.failed_rule, "ticket.min_approvals");
  EXPECT_NE(d.message.find("has 1 distinct approval(s)"), std::string::npos) << d.message;
  ticket_.approved_by_ids = {"557058:bob", "557058:robert"};
  EXPECT_EQ(outcome(), "allowed");
}

TEST_F(EvaluateIdentityTest, NamesAndIdsJoinTransitively) {
  // bob = bob (same name), bob's second entry has carol's id: all three are one person as far
  // as anyone can tell, so only one approval counts.
  ticket_.access = {"two-person"};
  ticket_.approved_by = {"bob@example.com", "Bob@example.com", "carol@example.com"};
  ticket_.approved_by_ids = {"id-1", "id-2", "id-2"};
  EXPECT_EQ(outcome(), "ticket.min_approvals");
  ticket_.approved_by_ids = {"id-1", "id-1", "id-2"};
  EXPECT_EQ(outcome(), "allowed");
}

}  // namespace
}  // namespace jitb::policies
