// The lookup gate refuses instead of queueing: past its threads, and past a caller's share.
#include "broker/issuing/lookup_gate.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

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

TEST(LookupGate, RunsWorkOnItsThreadsAndRefusesWhenAllAreBusy) {
  LookupGate gate(2, 1);
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
  LookupGate gate(1, 1);
  Held a;
  // Two submissions before the idle thread wakes: only the first may be taken.
  ASSERT_TRUE(gate.trySubmit(a.work()));
  EXPECT_FALSE(gate.trySubmit([] {}));
  a.release.set_value();
}

TEST(LookupGate, EachCallerHasItsOwnLimitAndPermitsFreeTheirSlot) {
  LookupGate gate(1, 2);
  auto p1 = gate.admit("iss\nalice");
  auto p2 = gate.admit("iss\nalice");
  ASSERT_TRUE(p1 && p2);
  EXPECT_FALSE(gate.admit("iss\nalice"));
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

}  // namespace
}  // namespace jitb::issuing
