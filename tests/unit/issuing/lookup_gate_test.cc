// The lookup gate refuses instead of queueing: past its threads, and past a caller's share.
#include "broker/issuing/lookup_gate.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>
#include "tests/support/fake_clock.h"

namespace jitb::issuing {
namespace {

// Work that holds its thread until released, and says when it has started.
struct Held {
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  std::function<void()> work() {
    return [this] {
      started.set_value();
      released.wait();
    };
  }
};

using namespace std::chrono_literals;

const core::TimePoint kStart{1'700'000'000s};

TEST(LookupGate, RunsWorkOnItsThreadsAndRefusesWhenAllAreBusy) {
  core::FakeClock clock(kStart);
  LookupGate gate(2, {}, clock);
  Held a, b;
  ASSERT_TRUE(gate.trySubmit(a.work()));
  ASSERT_TRUE(gate.trySubmit(b.work()));
  a.started.get_future().wait();
  b.started.get_future().wait();
  bool ran = false;
  EXPECT_FALSE(gate.trySubmit([&ran] { ran = true; }));  // refused, not queued
  a.release.set_value();
  // A thread is free again once its work has returned; the gate takes work once more.
  std::promise<void> done;
  while (!gate.trySubmit([&done] { done.set_value(); })) std::this_thread::yield();
  done.get_future().wait();
  b.release.set_value();
  gate.stop();
  EXPECT_FALSE(ran);
  EXPECT_FALSE(gate.trySubmit([] {}));  // stopped
}

TEST(LookupGate, WorkIsNotPromisedTwiceToOneIdleThread) {
  core::FakeClock clock(kStart);
  Held a;  // outlives the gate: its thread may still be in a.work() when the test body ends
  LookupGate gate(1, {}, clock);
  // Two submissions before the idle thread wakes: only the first may be taken.
  ASSERT_TRUE(gate.trySubmit(a.work()));
  EXPECT_FALSE(gate.trySubmit([] {}));
  a.release.set_value();
  gate.stop();
}

TEST(LookupGate, EachCallerHasItsOwnLimitAndPermitsFreeTheirSlot) {
  core::FakeClock clock(kStart);
  LookupGate gate(1, {2, 0, 0}, clock);  // no rate limit here
  auto p1 = gate.admit("iss\nalice");
  auto p2 = gate.admit("iss\nalice");
  ASSERT_TRUE(p1 && p2);
  LookupGate::Refusal why{};
  EXPECT_FALSE(gate.admit("iss\nalice", &why));
  EXPECT_EQ(why, LookupGate::Refusal::kConcurrent);
  EXPECT_TRUE(gate.admit("iss\nbob"));  // another caller is not held back by alice
  p1.reset();
  auto p3 = gate.admit("iss\nalice");
  EXPECT_TRUE(p3);
  EXPECT_FALSE(gate.admit("iss\nalice"));
  // A moved permit frees its slot once, when the last holder goes.
  std::optional<LookupGate::Permit> moved(std::move(*p3));
  p3.reset();
  EXPECT_FALSE(gate.admit("iss\nalice"));
  moved.reset();
  EXPECT_TRUE(gate.admit("iss\nalice"));
}

TEST(LookupGate, EachCallerHasATokenBucketByTheInjectedClock) {
  core::FakeClock clock(kStart);
  LookupGate gate(1, {100, 1, 5}, clock);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(gate.admit("iss\nmallory")) << i;  // the burst
  LookupGate::Refusal why{};
  EXPECT_FALSE(gate.admit("iss\nmallory", &why));
  EXPECT_EQ(why, LookupGate::Refusal::kRate);
  EXPECT_TRUE(gate.admit("iss\nalice"));  // her own bucket
  clock.advance(999ms);
  EXPECT_FALSE(gate.admit("iss\nmallory"));
  clock.advance(1ms);  // one per second
  EXPECT_TRUE(gate.admit("iss\nmallory"));
  EXPECT_FALSE(gate.admit("iss\nmallory"));
  clock.advance(60s);  // refills to the burst, no further
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(gate.admit("iss\nmallory")) << i;
  EXPECT_FALSE(gate.admit("iss\nmallory"));
}

TEST(LookupGate, ManyCallersDoNotGrowTheBucketsWithoutBound) {
  core::FakeClock clock(kStart);
  LookupGate gate(1, {100, 1, 2}, clock);
  for (int i = 0; i < 25'000; ++i) {
    ASSERT_TRUE(gate.admit("caller-" + std::to_string(i)));
    EXPECT_LE(gate.trackedCallers(), 10'000u);
    clock.advance(1ms);
  }
  // Full buckets were forgotten on the way; one that is not is still remembered.
  ASSERT_TRUE(gate.admit("caller-24999"));
  EXPECT_FALSE(gate.admit("caller-24999"));
  // Ten thousand callers within one refill: forgiven at once rather than kept.
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(gate.admit("burst-" + std::to_string(i)));
  EXPECT_LE(gate.trackedCallers(), 10'000u);
}

}  // namespace
}  // namespace jitb::issuing
