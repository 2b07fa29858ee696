// Wall-clock jumps (issue 8), with the injected clock and the real timer thread. A lease's life
// is [issued_at, expires_at] on the broker's clock: the instants written into the credential
// (JWT exp, certificate notAfter) that relying parties check. A jump forward or backward must
// never make a lease outlive its expires_at and never end one before it: the lease manager
// allows no skew of its own (the only clock tolerance is the CA's notBefore backdate).
#include "broker/leases/lease_manager.h"
#include "tests/unit/leases/fixture.h"

namespace jitb::leases {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using store::LeaseState;

class ClockJumpTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    // Two active leases per subject, so that a quota slot freed twice would show.
    manager_ = std::make_unique<LeaseManager>(*store_, audit_, clock_, Quotas{2, 10'000}, metrics_);
    ASSERT_TRUE(manager_->start().ok());  // the timer thread reads clock_, as in production
  }
  void TearDown() override {
    manager_.reset();
    StoreFixture::TearDown();
  }
  LeaseState state(const std::string& id) { return (*store_->getLease(id))->state; }
  // The timer thread has acted on the clock as it now reads and waits again: moving the fake
  // clock wakes it, so no test waits on real time for it.
  void settle() { ASSERT_TRUE(clock_.waitForSleepers(1)) << "the timer thread did not wait again"; }
  bool settledIn(LeaseState want, const std::string& id) {
    settle();
    return state(id) == want;
  }
  void jump(std::chrono::nanoseconds d) { clock_.set(clock_.now() + d); }

  std::unique_ptr<LeaseManager> manager_;
};

TEST_F(ClockJumpTest, ForwardJumpEndsExactlyTheLeasesItPassed) {
  ASSERT_TRUE(manager_->record(lease("short", "T", 30 * 60'000, "s1")).ok());
  ASSERT_TRUE(manager_->record(lease("edge", "T", 60 * 60'000, "s2")).ok());
  ASSERT_TRUE(manager_->record(lease("edge+1ms", "T", 60 * 60'000 + 1, "s3")).ok());
  ASSERT_TRUE(manager_->record(lease("long", "T", 2 * 60 * 60'000, "s4")).ok());
  jump(hours(1));
  EXPECT_TRUE(settledIn(LeaseState::kExpired, "short"));
  EXPECT_TRUE(settledIn(LeaseState::kExpired, "edge"));  // expires_at == now: over
  settle();
  EXPECT_EQ(state("edge+1ms"), LeaseState::kActive);  // never before its expires_at
  EXPECT_EQ(state("long"), LeaseState::kActive);
  EXPECT_EQ(manager_->activeCount(), 2);
  EXPECT_EQ((*store_->getLease("short"))->ended_at, nowMs());
  clock_.advance(milliseconds(1));
  EXPECT_TRUE(settledIn(LeaseState::kExpired, "edge+1ms"));
  EXPECT_EQ(state("long"), LeaseState::kActive);
}

TEST_F(ClockJumpTest, BackwardJumpNeverRevivesAnEndedLeaseNorFreesItsQuotaTwice) {
  ASSERT_TRUE(manager_->record(lease("a", "T", 1000)).ok());
  ASSERT_TRUE(manager_->record(lease("b", "T", 60'000)).ok());
  clock_.advance(milliseconds(1000));
  ASSERT_TRUE(settledIn(LeaseState::kExpired, "a"));
  jump(-hours(1));  // "a" is now, on the clock, an hour before its expires_at again
  settle();
  EXPECT_EQ(state("a"), LeaseState::kExpired);
  EXPECT_EQ(state("b"), LeaseState::kActive);
  EXPECT_EQ(manager_->activeCount(), 1);
  EXPECT_EQ(audit_.count("lease.expired"), 1u);
  EXPECT_FALSE(*manager_->revokeLease("a", "admin"));           // ended is final
  ASSERT_TRUE(manager_->record(lease("c", "T", 60'000)).ok());  // a's slot, freed once
  EXPECT_EQ(manager_->record(lease("d", "T", 60'000)).code(), core::Code::kResourceExhausted);
}

TEST_F(ClockJumpTest, BackwardJumpEndsNothingEarlyAndLeasesStillEndAtTheirExpiry) {
  ASSERT_TRUE(manager_->record(lease("x", "T", 5000)).ok());
  const int64_t expires_at = (*store_->getLease("x"))->expires_at;
  jump(-minutes(10));
  settle();
  EXPECT_EQ(state("x"), LeaseState::kActive);
  // A lease issued after the jump is stamped on the clock as it now reads.
  ASSERT_TRUE(manager_->record(lease("y", "T", 2000)).ok());
  clock_.advance(milliseconds(1999));
  settle();
  EXPECT_EQ(state("y"), LeaseState::kActive);
  clock_.advance(milliseconds(1));
  EXPECT_TRUE(settledIn(LeaseState::kExpired, "y"));
  EXPECT_EQ(state("x"), LeaseState::kActive);
  // Back to where the clock was, and to x's expires_at: x ends then, not later.
  clock_.set(core::TimePoint(milliseconds(expires_at - 1)));
  settle();
  EXPECT_EQ(state("x"), LeaseState::kActive);
  clock_.advance(milliseconds(1));
  EXPECT_TRUE(settledIn(LeaseState::kExpired, "x"));
  EXPECT_EQ((*store_->getLease("x"))->ended_at, expires_at);
}

TEST_F(ClockJumpTest, TicketWindowEndsOnTheClockWhicheverWayItJumps) {
  const int64_t end = nowMs() + 60'000;
  ASSERT_EQ(*store_->putTicket({"W", "approved", 1, end, "{}", 1}), store::TicketWrite::kApplied);
  ASSERT_TRUE(manager_->record(lease("w", "W", 10 * 60'000)).ok());
  manager_->watchWindow("W", end);
  jump(-hours(2));
  settle();
  EXPECT_EQ(state("w"), LeaseState::kActive);
  jump(hours(2) + milliseconds(59'999));  // 1 ms before the window ends
  settle();
  EXPECT_EQ(state("w"), LeaseState::kActive);
  clock_.advance(milliseconds(1));
  EXPECT_TRUE(settledIn(LeaseState::kRevoked, "w"));
  EXPECT_EQ((*store_->getLease("w"))->reason, "window_ended");
}

}  // namespace
}  // namespace jitb::leases
