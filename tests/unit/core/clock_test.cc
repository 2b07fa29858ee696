// Waiting on the injected clock: the system clock waits for real, the fake one is woken by
// whoever moves it.
#include "broker/core/clock.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_clock.h"

namespace jitb::core {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = std::chrono::system_clock::from_time_t(1795456800);

// Runs waitUntil(deadline) on a thread; the future holds what it returned.
struct Waiting {
  std::mutex mu;
  std::condition_variable cv;
  std::future<bool> reached;
  Waiting(const Clock& clock, TimePoint deadline) {
    reached = std::async(std::launch::async, [this, &clock, deadline] {
      std::unique_lock lk(mu);
      return clock.waitUntil(lk, cv, deadline);
    });
  }
};

TEST(FakeClockTest, AdvancePastTheDeadlineWakesTheWaiter) {
  FakeClock clock(kStart);
  Waiting w(clock, kStart + 10s);
  ASSERT_TRUE(clock.waitForSleepers(1));
  clock.advance(9s);
  // Woken, but the deadline is still ahead: it says so (and a timer would wait again).
  ASSERT_EQ(w.reached.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(w.reached.get());
  Waiting again(clock, kStart + 10s);
  ASSERT_TRUE(clock.waitForSleepers(1));
  clock.advance(1s);
  ASSERT_EQ(again.reached.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(again.reached.get());
}

TEST(FakeClockTest, SetWakesTheWaiterAndABackwardSetDoesNotReachTheDeadline) {
  FakeClock clock(kStart);
  Waiting back(clock, kStart + 1s);
  ASSERT_TRUE(clock.waitForSleepers(1));
  clock.set(kStart - 1h);
  ASSERT_EQ(back.reached.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(back.reached.get());
  Waiting forward(clock, kStart + 1s);
  ASSERT_TRUE(clock.waitForSleepers(1));
  clock.set(kStart + 2h);
  ASSERT_EQ(forward.reached.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(forward.reached.get());
  EXPECT_FALSE(clock.waitForSleepers(1, 50ms));  // nobody waits any more
}

TEST(FakeClockTest, ADeadlineAlreadyPassedReturnsAtOnce) {
  FakeClock clock(kStart);
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lk(mu);
  EXPECT_TRUE(clock.waitUntil(lk, cv, kStart));
  EXPECT_TRUE(lk.owns_lock());
}

TEST(FakeClockTest, PredicateWaitReturnsWhenNotifiedWithTheConditionMet) {
  FakeClock clock(kStart);
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  auto waiter = std::async(std::launch::async, [&] {
    std::unique_lock lk(mu);
    return waitUntil(clock, lk, cv, kStart + 1h, [&] { return stop; });
  });
  ASSERT_TRUE(clock.waitForSleepers(1));
  {
    std::lock_guard lk(mu);
    stop = true;
  }
  cv.notify_all();
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(waiter.get());
  EXPECT_EQ(clock.now(), kStart);  // no time had to pass
}

// core::waitUntil over a scripted clock: early returns (spurious, or notified for something
// else) are waited out; it ends when the condition holds or the clock says the deadline came.
TEST(WaitUntilTest, WaitsAgainAfterAnEarlyReturnAndGivesUpAtTheDeadline) {
  ::testing::StrictMock<testing::MockClock> clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lk(mu);
  EXPECT_CALL(clock, waitUntil(::testing::_, ::testing::_, kStart + 1s))
      .WillOnce(::testing::Return(false))
      .WillOnce(::testing::Return(false))
      .WillOnce(::testing::Return(true));
  int checks = 0;
  EXPECT_FALSE(waitUntil(clock, lk, cv, kStart + 1s, [&] { return ++checks > 10; }));
  EXPECT_EQ(checks, 4);  // before each of the three waits, and once at the deadline
}

TEST(WaitUntilTest, ReturnsWithoutWaitingWhenTheConditionHolds) {
  ::testing::StrictMock<testing::MockClock> clock;  // any wait would fail the test
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lk(mu);
  EXPECT_TRUE(waitUntil(clock, lk, cv, kStart, [] { return true; }));
}

TEST(WaitUntilTest, TheConditionMetAtTheDeadlineStillCounts) {
  ::testing::StrictMock<testing::MockClock> clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lk(mu);
  bool done = false;
  EXPECT_CALL(clock, waitUntil(::testing::_, ::testing::_, kStart)).WillOnce([&](auto&, auto&, auto) {
    done = true;
    return true;
  });
  EXPECT_TRUE(waitUntil(clock, lk, cv, kStart, [&] { return done; }));
}

TEST(SystemClockTest, WaitsForRealTimeAndReportsTheDeadline) {
  SystemClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lk(mu);
  EXPECT_TRUE(clock.waitUntil(lk, cv, clock.now() - 1s));  // passed: no wait
  const TimePoint deadline = clock.now() + 20ms;
  while (!clock.waitUntil(lk, cv, deadline)) {}  // spurious wake-ups allowed
  EXPECT_GE(clock.now(), deadline);
}

TEST(SystemClockTest, AFarDeadlineWaitsUntilNotified) {
  SystemClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  auto waiter = std::async(std::launch::async, [&] {
    std::unique_lock lk(mu);
    return waitUntil(clock, lk, cv, TimePoint::max(), [&] { return stop; });
  });
  {
    std::lock_guard lk(mu);
    stop = true;
  }
  cv.notify_all();
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(waiter.get());
}

}  // namespace
}  // namespace jitb::core
