// The commit protocol: the lease insert and the audit write overlap, the later completion
// answers; a lease not recorded is audited as aborted, an issuance not audited has its lease
// revoked; the insert check judges the lease again when the ticket changed meanwhile.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "tests/unit/issuing/service_fixture.h"

namespace jitb::testing {
namespace {

using ::testing::_;
using ::testing::HasSubstr;

class CommitTest : public ServiceFixture {
 protected:
  // Holds the two completions of the next commit so that the test chooses their order.
  void holdCompletions() {
    ON_CALL(audit_, appendAllThen)
        .WillByDefault([this](std::vector<audit::Record> r, audit::AuditSink::Done done,
                              audit::AuditSink::Durability durability) {
          for (auto& x : r) audited_.push_back(std::move(x));
          if (durability == audit::AuditSink::Durability::kWritten) {
            audit_done_ = std::move(done);
          } else {
            done(core::okStatus());
          }
        });
    ON_CALL(store_, insertLeaseAsync).WillByDefault([this](store::LeaseRow l, store::InsertDone done) {
      inserted_.push_back(l);
      insert_done_ = std::move(done);
    });
  }
  const core::Status* status() const { return std::get_if<core::Status>(&**last_); }

  audit::AuditSink::Done audit_done_;
  store::InsertDone insert_done_;
};

TEST_F(CommitTest, AnswersWhenTheAuditFinishesAfterTheLease) {
  holdCompletions();
  EXPECT_FALSE(issue(tokenRequest()));
  ASSERT_TRUE(audit_done_);
  ASSERT_TRUE(insert_done_);
  // Both started before either finished: they overlap.
  insert_done_(core::okStatus(), storedTicket(ticket_));
  EXPECT_EQ(answers_, 0);
  audit_done_(core::okStatus());
  ASSERT_EQ(answers_, 1);
  EXPECT_NE(std::get_if<issuing::Issued>(&**last_), nullptr);
}

TEST_F(CommitTest, AnswersWhenTheLeaseFinishesAfterTheAudit) {
  holdCompletions();
  EXPECT_FALSE(issue(tokenRequest()));
  audit_done_(core::okStatus());
  EXPECT_EQ(answers_, 0);
  insert_done_(core::okStatus(), storedTicket(ticket_));
  ASSERT_EQ(answers_, 1);
  EXPECT_NE(std::get_if<issuing::Issued>(&**last_), nullptr);
}

TEST_F(CommitTest, TheIssuanceRecordsAreAcknowledgedOnceWritten) {
  std::vector<std::string> events;
  EXPECT_CALL(audit_, appendAllThen(_, _, audit::AuditSink::Durability::kWritten))
      .WillOnce([&](std::vector<audit::Record> r, audit::AuditSink::Done done,
                    audit::AuditSink::Durability) {
        for (auto& x : r) events.push_back(x.event);
        done(core::okStatus());
      });
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  EXPECT_EQ(events, (std::vector<std::string>{"decision.allowed", "lease.issued"}));
}

TEST_F(CommitTest, ALeaseNotRecordedIsAbortedAndNothingIsHandedOut) {
  ON_CALL(store_, insertLeaseAsync).WillByDefault([](store::LeaseRow, store::InsertDone done) {
    done(core::internalError("disk I/O error"), std::nullopt);
  });
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kUnavailable);
  EXPECT_EQ(st->message(), "the lease could not be recorded");
  // The log shows the issuance records, then that the lease was not recorded.
  ASSERT_GE(audited_.size(), 3u);
  EXPECT_EQ(audited_[1].event, "lease.issued");
  EXPECT_EQ(audited_[2].event, "lease.aborted");
  EXPECT_EQ(audited_[2].fields.at("lease"), audited_[1].fields.at("lease"));
  EXPECT_EQ(audited_[2].fields.at("message"), "internal error");
  EXPECT_EQ(audited("lease.quota_exceeded"), 0u);
}

TEST_F(CommitTest, AnUnavailableStoreKeepsItsOwnMessage) {
  ON_CALL(store_, insertLeaseAsync).WillByDefault([](store::LeaseRow, store::InsertDone done) {
    done(core::unavailable("the store is read-only"), std::nullopt);
  });
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  EXPECT_EQ(std::get<core::Status>(*out).message(), "the store is read-only");
}

TEST_F(CommitTest, TheRefusalsWritesRunThroughTheOffload) {
  ON_CALL(store_, insertLeaseAsync).WillByDefault([](store::LeaseRow, store::InsertDone done) {
    done(core::internalError("disk I/O error"), std::nullopt);
  });
  std::deque<std::function<void()>> queued;
  bool answered = false;
  service_->issue(tokenRequest(), [&](issuing::Outcome) { answered = true; },
                  [&](std::function<void()> fn) { queued.push_back(std::move(fn)); });
  // Not on the completing (writer) thread: nothing aborted or answered until the offload runs.
  EXPECT_FALSE(answered);
  EXPECT_EQ(audited("lease.aborted"), 0u);
  ASSERT_EQ(queued.size(), 1u);
  queued.front()();
  EXPECT_TRUE(answered);
  EXPECT_EQ(audited("lease.aborted"), 1u);
}

// The store enforces the quotas the lease manager hands it; this one counts per subject as a
// real store would and refuses past the limit it was given.
class QuotaTest : public CommitTest {
 protected:
  void SetUp() override {
    quotas_.per_subject = 1;
    CommitTest::SetUp();
    ON_CALL(store_, insertLeaseAsync).WillByDefault([this](store::LeaseRow l, store::InsertDone done) {
      if (++per_subject_[l.subject] > store_.quotas.per_subject)
        return done(store::quotaExceeded("subject", store_.quotas.per_subject), std::nullopt);
      inserted_.push_back(l);
      done(core::okStatus(), storedTicket(ticket_));
    });
  }
  std::map<std::string, int64_t> per_subject_;
};

TEST_F(QuotaTest, AQuotaRefusalIsAuditedAndResourceExhausted) {
  EXPECT_EQ(store_.quotas.per_subject, 1);  // the configured limit reached the store
  auto first = issue(tokenRequest());
  ASSERT_TRUE(first);
  ASSERT_NE(std::get_if<issuing::Issued>(&*first), nullptr);
  auto second = issue(tokenRequest());
  ASSERT_TRUE(second);
  auto* st = std::get_if<core::Status>(&*second);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kResourceExhausted);
  EXPECT_EQ(audited("lease.aborted"), 1u);
  const audit::Record* q = find("lease.quota_exceeded");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->fields.at("ticket"), "CHG1");
  EXPECT_EQ(q->fields.at("subject"), "repo:acme/api");
  EXPECT_EQ(q->fields.at("grant"), "deploy");
  EXPECT_EQ(q->fields.at("message").as_string(), st->message());
  EXPECT_EQ(inserted_.size(), 1u);  // nothing recorded for the refused one
  EXPECT_THAT(metrics_.render(),
              ::testing::HasSubstr("jitbroker_leases_quota_refusals_total{quota=\"subject\"} 1"));
}

TEST_F(CommitTest, AnIssuanceNotAuditedHasItsLeaseRevoked) {
  EXPECT_CALL(audit_, appendAllThen(_, _, audit::AuditSink::Durability::kWritten))
      .WillOnce([](std::vector<audit::Record>, audit::AuditSink::Done done,
                   audit::AuditSink::Durability) { done(core::unavailable("audit log full")); });
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kUnavailable);
  EXPECT_EQ(st->message(), "the issuance could not be audited; try again");
  ASSERT_EQ(inserted_.size(), 1u);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].first, inserted_[0].id);
  EXPECT_EQ(ended_[0].second, "audit_failed");
  EXPECT_THAT(metrics_.render(), ::testing::Not(HasSubstr("jitbroker_issuances_total{")));
}

TEST_F(CommitTest, ATicketChangedMeanwhileIsJudgedAgainAndMayEndTheLease) {
  tickets::Ticket changed = ticket_;
  changed.subjects = {"someone-else"};
  changed.updated_at += std::chrono::seconds(5);
  ON_CALL(store_, insertLeaseAsync).WillByDefault([&](store::LeaseRow l, store::InsertDone done) {
    inserted_.push_back(l);
    done(core::okStatus(), storedTicket(changed));
  });
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kUnavailable);
  EXPECT_THAT(st->message(), HasSubstr("the ticket changed"));
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].second, "ticket_changed");
}

TEST_F(CommitTest, ATicketChangedInAWayTheDecisionAllowsStillIssues) {
  tickets::Ticket changed = ticket_;
  changed.approved_by = {"bob@example.com", "carol@example.com"};
  changed.updated_at += std::chrono::seconds(5);
  ON_CALL(store_, insertLeaseAsync).WillByDefault([&](store::LeaseRow l, store::InsertDone done) {
    inserted_.push_back(l);
    done(core::okStatus(), storedTicket(changed));
  });
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  EXPECT_NE(std::get_if<issuing::Issued>(&*out), nullptr);
  EXPECT_TRUE(ended_.empty());
}

TEST_F(CommitTest, PoliciesReloadedMeanwhileJudgeTheLeaseAgain) {
  holdCompletions();
  EXPECT_FALSE(issue(tokenRequest()));
  // A reload that drops the grant between the decision and the insert.
  setPolicies(R"(grants:
  - name: other
    subjects: {issuer: "https://ci.example"}
    token: {audience: x, max_ttl: 1h}
)");
  audit_done_(core::okStatus());
  insert_done_(core::okStatus(), storedTicket(ticket_));
  ASSERT_EQ(answers_, 1);
  ASSERT_NE(status(), nullptr);
  EXPECT_EQ(status()->code(), core::Code::kUnavailable);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].second, "ticket_changed");
}

TEST_F(CommitTest, ATicketClosedBeforeTheInsertEndsTheLease) {
  tickets::Ticket closed = ticket_;
  closed.state = "closed";
  ON_CALL(store_, insertLeaseAsync).WillByDefault([&](store::LeaseRow l, store::InsertDone done) {
    inserted_.push_back(l);
    done(core::okStatus(), storedTicket(closed));
  });
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  ASSERT_NE(std::get_if<core::Status>(&*out), nullptr);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].second, "ticket_closed");
}

}  // namespace
}  // namespace jitb::testing
