// The periodic thread behind the broker's pollers: its period measured on the injected clock
// (moved, never slept), poke() runs early, stop() waits for a run in progress and nothing runs
// after it.
#include "broker/core/ticker.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

#include "tests/support/fake_clock.h"

namespace jitb::core {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = std::chrono::system_clock::from_time_t(1795456800);

// The clock's time at each run, as the ticker's thread saw it.
class Runs {
 public:
  explicit Runs(const Clock& clock) : clock_(clock) {}
  std::function<void()> callback() {
    return [this] {
      {
        std::lock_guard lk(mu_);
        at_.push_back(clock_.now());
      }
      cv_.notify_all();
    };
  }
  bool waitFor(size_t n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, 10s, [&] { return at_.size() >= n; });
  }
  std::vector<TimePoint> at() {
    std::lock_guard lk(mu_);
    return at_;
  }

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TimePoint> at_;
};

class TickerTest : public ::testing::Test {
 protected:
  FakeClock clock_{kStart};
  Runs runs_{clock_};
};

// A ticker on a fake clock whose first run holds until the test lets it go.
struct HeldRun {
  FakeClock clock{kStart};
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> let_go{false};
  std::atomic<int> runs{0};
  std::atomic<bool> finished{false};
  Ticker ticker{clock, [this] {
                  if (runs++ > 0) return;
                  entered.set_value();
                  released.wait();
                  finished = true;
                }};

  // A failed assertion must not leave the run (and so the destructor's join) waiting.
  ~HeldRun() { letGo(); }
  // Starts the ticker; returns once its first run is held.
  void startHeld() {
    ticker.start(1h);
    entered.get_future().wait();
  }
  void letGo() {
    if (!let_go.exchange(true)) release.set_value();
  }
  // stop() on a thread of its own; the result says whether the run had finished by its return.
  std::future<bool> stopAsync() {
    return std::async(std::launch::async, [this] {
      ticker.stop();
      return finished.load();
    });
  }
};

TEST_F(TickerTest, RunsAtStartThenOncePerPeriodOfTheClock) {
  Ticker t(clock_, runs_.callback());
  t.start(10s);
  ASSERT_TRUE(clock_.waitForSleepers(1));  // the first run is done, the thread waits
  // Each move wakes the thread; only the one that reaches the period's end makes it run.
  for (int i = 0; i < 10; ++i) {
    clock_.advance(1s);
    ASSERT_TRUE(clock_.waitForSleepers(1));
  }
  EXPECT_EQ(runs_.at(), (std::vector<TimePoint>{kStart, kStart + 10s}));
  clock_.advance(25s);  // late: one run, and the next period counts from its end
  ASSERT_TRUE(clock_.waitForSleepers(1));
  clock_.advance(9s);
  ASSERT_TRUE(clock_.waitForSleepers(1));
  EXPECT_EQ(runs_.at(), (std::vector<TimePoint>{kStart, kStart + 10s, kStart + 35s}));
  clock_.advance(1s);
  ASSERT_TRUE(runs_.waitFor(4));
  EXPECT_EQ(runs_.at().back(), kStart + 45s);
}

TEST_F(TickerTest, WaitFirstRunsOnlyAfterOnePeriod) {
  Ticker t(clock_, runs_.callback(), Ticker::Start::kWaitFirst);
  t.start(10s);
  ASSERT_TRUE(clock_.waitForSleepers(1));
  EXPECT_TRUE(runs_.at().empty());
  clock_.advance(10s);
  ASSERT_TRUE(runs_.waitFor(1));
  ASSERT_TRUE(clock_.waitForSleepers(1));
  EXPECT_EQ(runs_.at(), std::vector<TimePoint>{kStart + 10s});
}

TEST_F(TickerTest, PokeRunsWithoutWaitingOutThePeriod) {
  Ticker t(clock_, runs_.callback());
  t.start(1h);
  ASSERT_TRUE(clock_.waitForSleepers(1));
  t.poke();
  ASSERT_TRUE(runs_.waitFor(2));
  EXPECT_EQ(runs_.at(), (std::vector<TimePoint>{kStart, kStart}));  // the clock never moved
  ASSERT_TRUE(clock_.waitForSleepers(1));  // and it waits a whole period again
  EXPECT_EQ(runs_.at().size(), 2u);
}

TEST_F(TickerTest, APokeDuringARunAsksForOneMore) {
  HeldRun h;
  h.startHeld();
  h.ticker.poke();
  h.ticker.poke();  // pokes coalesce
  h.letGo();
  ASSERT_TRUE(h.clock.waitForSleepers(1));
  EXPECT_EQ(h.runs, 2);
}

TEST_F(TickerTest, RealTimeTickerRunsEveryPeriodAndOnPoke) {
  SystemClock clock;
  Runs runs(clock);
  const auto began = std::chrono::steady_clock::now();
  Ticker t(runs.callback());
  t.start(20ms);
  ASSERT_TRUE(runs.waitFor(3));
  EXPECT_GE(std::chrono::steady_clock::now() - began, 40ms);  // two periods between three runs
  t.stop();

  Runs poked(clock);
  Ticker slow(poked.callback());
  slow.start(1h);
  ASSERT_TRUE(poked.waitFor(1));
  slow.poke();
  EXPECT_TRUE(poked.waitFor(2));
}

TEST_F(TickerTest, StopWaitsForTheRunInProgress) {
  HeldRun h;
  h.startHeld();
  auto stopped = h.stopAsync();
  EXPECT_EQ(stopped.wait_for(50ms), std::future_status::timeout);
  h.letGo();
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(stopped.get());  // stop() returned only once the run had finished
  EXPECT_EQ(h.runs, 1);
}

TEST_F(TickerTest, TwoStopsAtOnceBothWaitAndNeitherFails) {
  HeldRun h;
  h.startHeld();
  // Both reach the join while the run is held: a second join of one thread would throw.
  auto a = h.stopAsync(), b = h.stopAsync();
  std::this_thread::sleep_for(20ms);
  h.letGo();
  EXPECT_TRUE(a.get());
  EXPECT_TRUE(b.get());
  h.ticker.stop();  // and once more, after the thread is gone
}

TEST_F(TickerTest, NothingRunsAfterStop) {
  Ticker t(clock_, runs_.callback());
  t.start(10s);
  ASSERT_TRUE(clock_.waitForSleepers(1));
  t.stop();
  t.poke();
  clock_.advance(1h);
  t.start(10s);  // a stopped ticker does not start again
  EXPECT_FALSE(clock_.waitForSleepers(1, 50ms));
  EXPECT_EQ(runs_.at(), std::vector<TimePoint>{kStart});
}

TEST_F(TickerTest, StopBeforeStartAndTheDestructorLeaveNoThread) {
  {
    Ticker never(clock_, runs_.callback());
    never.stop();
    never.start(10s);
    Ticker running(clock_, runs_.callback());
    running.start(10s);
    ASSERT_TRUE(runs_.waitFor(1));
    ASSERT_TRUE(clock_.waitForSleepers(1));
  }
  clock_.advance(1h);
  EXPECT_FALSE(clock_.waitForSleepers(1, 50ms));
  EXPECT_EQ(runs_.at(), std::vector<TimePoint>{kStart});
}

}  // namespace
}  // namespace jitb::core
