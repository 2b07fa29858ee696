#include "broker/tickets/service.h"

#include <atomic>
#include <thread>

#include "tests/unit/leases/fixture.h"
#include "tests/unit/tickets/mock_lease_review.h"

namespace jitb::tickets {
namespace {

using store::LeaseState;
using namespace std::chrono_literals;

class TicketServiceTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    leases_ = std::make_unique<leases::LeaseManager>(*store_, audit_, clock_, leases::Quotas{},
                                                     metrics_);
    ASSERT_TRUE(leases_->start().ok());
    svc_ = std::make_unique<TicketService>(*store_, *leases_, review_, audit_, clock_);
  }
  void TearDown() override {
    svc_.reset();
    leases_.reset();
    StoreFixture::TearDown();
  }
  Ticket ticket(std::string state = "approved", int version = 1) {
    Ticket t;
    t.id = "CHG1";
    t.state = std::move(state);
    t.kind = "normal";
    t.requested_by = "alice";
    t.approved_by = {"bob"};
    t.subjects = {"s1", "s2"};
    t.access = {"deploy", "read"};
    t.window_start = clock_.now() - 1h;
    t.window_end = clock_.now() + 1h;
    t.updated_at = clock_.now() + std::chrono::seconds(version);
    return t;
  }
  void issue(const std::string& id, const std::string& subject, const std::string& grant) {
    auto l = lease(id, "CHG1", 600'000, subject);
    l.grant = grant;
    ASSERT_TRUE(leases_->record(l).ok());
  }
  LeaseState state(const std::string& id) { return (*store_->getLease(id))->state; }

  std::unique_ptr<leases::LeaseManager> leases_;
  ::testing::NiceMock<testing::MockLeaseReview> review_;
  std::unique_ptr<TicketService> svc_;
};

TEST_F(TicketServiceTest, AppliesNewerEventsAndIgnoresReplaysAndOlderOnes) {
  auto a = svc_->apply(ticket("approved", 2), "webhook");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->applied);
  auto replay = svc_->apply(ticket("approved", 2), "webhook");
  EXPECT_FALSE(replay->applied);
  EXPECT_EQ(replay->reason, "not_newer");
  auto older = svc_->apply(ticket("pending", 1), "webhook");
  EXPECT_FALSE(older->applied);
  EXPECT_EQ((*svc_->get("CHG1"))->state, "approved");
  EXPECT_EQ(audit_.count("ticket.received"), 1u);
  EXPECT_EQ(audit_.count("ticket.ignored"), 2u);
}

TEST_F(TicketServiceTest, ClosingRevokesEveryLeaseAndCannotBeReopened) {
  ASSERT_TRUE(svc_->apply(ticket("approved", 1), "webhook")->applied);
  issue("a", "s1", "deploy");
  issue("b", "s2", "read");
  auto closed = svc_->apply(ticket("closed", 2), "webhook");
  EXPECT_EQ(closed->revoked, 2u);
  EXPECT_EQ(state("a"), LeaseState::kRevoked);
  EXPECT_EQ((*store_->getLease("a"))->reason, "ticket_closed");
  auto reopen = svc_->apply(ticket("approved", 3), "webhook");
  EXPECT_FALSE(reopen->applied);
  EXPECT_EQ(reopen->reason, "terminal");
  EXPECT_EQ((*svc_->get("CHG1"))->state, "closed");
}

TEST_F(TicketServiceTest, WithdrawnApprovalRevokes) {
  ASSERT_TRUE(svc_->apply(ticket("approved", 1), "webhook")->applied);
  issue("a", "s1", "deploy");
  EXPECT_EQ(svc_->apply(ticket("pending", 2), "webhook")->revoked, 1u);
  EXPECT_EQ((*store_->getLease("a"))->reason, "approval_withdrawn");
}

// Any other change of a still-approved ticket has its leases judged again by the decision
// (the issuing side; see tests/unit/issuing), and what that ends is reported.
TEST_F(TicketServiceTest, AnApprovedChangeHasTheLeasesJudgedAgain) {
  using ::testing::_;
  using ::testing::Field;
  ASSERT_TRUE(svc_->apply(ticket("approved", 1), "webhook")->applied);
  Ticket t = ticket("approved", 2);
  t.approved_by.clear();
  EXPECT_CALL(review_, reviewTicket(Field(&Ticket::approved_by, ::testing::IsEmpty()), "ticket_changed"))
      .WillOnce(::testing::Return(core::StatusOr<size_t>(size_t{3})));
  EXPECT_EQ(svc_->apply(t, "webhook")->revoked, 3u);
  // Endings that need no judging end every lease without asking.
  EXPECT_CALL(review_, reviewTicket(_, _)).Times(0);
  ASSERT_TRUE(svc_->apply(ticket("closed", 3), "webhook")->applied);
}

// The ticket is written before its review, and a redelivery would be ignored as not newer: a
// review that fails ends every lease of the ticket instead (fail closed).
TEST_F(TicketServiceTest, AFailedReviewRevokesTheTicketsLeases) {
  ASSERT_TRUE(svc_->apply(ticket("approved", 1), "webhook")->applied);
  issue("a", "s1", "deploy");
  EXPECT_CALL(review_, reviewTicket)
      .WillOnce(::testing::Return(core::StatusOr<size_t>(core::unavailable("store down"))));
  auto r = svc_->apply(ticket("approved", 2), "webhook");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->revoked, 1u);
  EXPECT_EQ(state("a"), LeaseState::kRevoked);
  EXPECT_EQ((*store_->getLease("a"))->reason, "review_failed");
}

// An event dated far ahead would make every later event look older: refused, nothing written.
TEST_F(TicketServiceTest, UpdatedAtMoreThanFiveMinutesAheadIsRefused) {
  Ticket t = ticket("approved", 301);
  auto r = svc_->apply(t, "webhook");
  EXPECT_EQ(r.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("in the future"), std::string::npos);
  EXPECT_FALSE(svc_->get("CHG1")->has_value());
  EXPECT_TRUE(svc_->apply(ticket("approved", 300), "webhook")->applied);
}

// Only ever toward less access: a close applies whatever its updated_at, and on a tie the
// more restrictive state stands.
TEST_F(TicketServiceTest, ClosesApplyWhateverTheirTimeAndTiesGoToTheMoreRestrictive) {
  ASSERT_TRUE(svc_->apply(ticket("approved", 200), "webhook")->applied);
  issue("a", "s1", "deploy");
  auto older_close = svc_->apply(ticket("closed", 100), "webhook");
  ASSERT_TRUE(older_close.ok());
  EXPECT_TRUE(older_close->applied);
  EXPECT_EQ(state("a"), LeaseState::kRevoked);

  Ticket other = ticket("approved", 5);
  other.id = "CHG2";
  ASSERT_TRUE(svc_->apply(other, "webhook")->applied);
  Ticket same_second = other;
  same_second.state = "pending";
  EXPECT_TRUE(svc_->apply(same_second, "webhook")->applied);  // pending over approved
  EXPECT_FALSE(svc_->apply(other, "webhook")->applied);       // approved does not undo it
  EXPECT_EQ((*svc_->get("CHG2"))->state, "pending");
  same_second.state = "canceled";
  EXPECT_TRUE(svc_->apply(same_second, "webhook")->applied);  // terminal over pending
  EXPECT_EQ((*svc_->get("CHG2"))->state, "canceled");
}

TEST_F(TicketServiceTest, WindowMovedIntoThePastRevokes) {
  ASSERT_TRUE(svc_->apply(ticket("approved", 1), "webhook")->applied);
  issue("a", "s1", "deploy");
  Ticket t = ticket("approved", 2);
  t.window_start = clock_.now() - 2h;
  t.window_end = clock_.now() - 1min;
  EXPECT_EQ(svc_->apply(t, "webhook")->revoked, 1u);
  EXPECT_EQ((*store_->getLease("a"))->reason, "window_ended");
}

// get() serves tickets from memory; a reader racing the writes must never leave a stale one
// cached once the last write is done.
TEST_F(TicketServiceTest, CachedTicketsFollowEveryAppliedChangeEvenUnderConcurrentReads) {
  ASSERT_TRUE(svc_->apply(ticket("approved", 1), "webhook").ok());
  EXPECT_EQ((*svc_->get("CHG1"))->subjects.size(), 2u);  // now cached
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&] {
      while (!stop) ASSERT_TRUE(svc_->get("CHG1").ok());
    });
  for (int v = 2; v <= 60; ++v) {
    Ticket t = ticket("approved", v);
    t.subjects = {"s" + std::to_string(v)};
    ASSERT_TRUE(svc_->apply(t, "webhook")->applied);
    auto got = svc_->get("CHG1");
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->subjects, std::vector<std::string>{"s" + std::to_string(v)}) << v;
  }
  ASSERT_TRUE(svc_->apply(ticket("closed", 61), "webhook")->applied);
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ((*svc_->get("CHG1"))->state, "closed");
}

}  // namespace
}  // namespace jitb::tickets
