#include "broker/tickets/service.h"

#include <atomic>
#include <thread>

#include "tests/unit/leases/fixture.h"

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
    svc_ = std::make_unique<TicketService>(*store_, *leases_, audit_, clock_);
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

TEST_F(TicketServiceTest, RemovingASubjectOrGrantRevokesOnlyTheLeasesThatReliedOnIt) {
  ASSERT_TRUE(svc_->apply(ticket("approved", 1), "webhook")->applied);
  issue("s1-deploy", "s1", "deploy");
  issue("s2-deploy", "s2", "deploy");
  issue("s1-read", "s1", "read");
  Ticket t = ticket("approved", 2);
  t.subjects = {"s1"};
  t.access = {"deploy"};
  EXPECT_EQ(svc_->apply(t, "webhook")->revoked, 2u);
  EXPECT_EQ(state("s1-deploy"), LeaseState::kActive);
  EXPECT_EQ(state("s2-deploy"), LeaseState::kRevoked);
  EXPECT_EQ(state("s1-read"), LeaseState::kRevoked);
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
