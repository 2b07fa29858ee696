// The fail-closed state machine with an injected clock: no answer from the store for more than
// max_silence makes it unreachable; any successful store call, or a probe, is contact.
#include "broker/leases/store_health.h"

#include <gtest/gtest.h>

#include <atomic>

#include "tests/support/fake_clock.h"

namespace jitb::leases {
namespace {

using std::chrono::milliseconds;

class StoreHealthTest : public ::testing::Test {
 protected:
  core::FakeClock clock{core::TimePoint(std::chrono::seconds(1'700'000'000))};
  metrics::Registry metrics;
  std::atomic<uint64_t> trips{0};
  int probes = 0;
  bool probe_ok = false;
  StoreHealth health{clock, [this] { return trips.load(); },
                     [this] {
                       ++probes;
                       if (!probe_ok) return core::unavailable("down");
                       ++trips;  // as the store counts the probe's own call
                       return core::okStatus();
                     },
                     metrics};

  void step(milliseconds d) {
    clock.advance(d);
    health.tick();
  }
};

TEST_F(StoreHealthTest, SilenceOfMoreThanOneSecondFailsClosedAndAnAnswerRecovers) {
  EXPECT_TRUE(health.reachable());
  for (int i = 0; i < 4; ++i) step(milliseconds(250));  // 1000 ms: not more than a second
  EXPECT_TRUE(health.reachable());
  EXPECT_TRUE(health.check().ok());
  step(milliseconds(1));
  EXPECT_FALSE(health.reachable());
  core::Status st = health.check();
  EXPECT_EQ(st.code(), core::Code::kUnavailable);
  EXPECT_NE(metrics.render().find("jitbroker_store_reachable 0"), std::string::npos);

  probe_ok = true;  // the store is back: the next probe's answer is contact
  step(milliseconds(250));
  EXPECT_TRUE(health.reachable());
  EXPECT_TRUE(health.check().ok());
  EXPECT_NE(metrics.render().find("jitbroker_store_reachable 1"), std::string::npos);
}

TEST_F(StoreHealthTest, OtherCallsAnsweredCountAsContactAndSpareTheProbe) {
  // A busy store: the probe would wait for a connection and fail, but the calls of the
  // requests reach it, so the replica is not taken for cut off.
  for (int i = 0; i < 20; ++i) {
    trips += 3;
    step(milliseconds(250));
  }
  EXPECT_TRUE(health.reachable());
  EXPECT_EQ(probes, 0);
  step(milliseconds(250));  // nothing moved: now it probes
  EXPECT_EQ(probes, 1);
}

TEST_F(StoreHealthTest, NoTickForLongIsSilenceToo) {
  // A probe stuck on a partitioned connection blocks the ticks; the time since the last
  // answer still decides.
  clock.advance(milliseconds(1500));
  EXPECT_FALSE(health.reachable());
}

TEST_F(StoreHealthTest, ALateProbeAnswerCountsFromWhenItWasAsked) {
  probe_ok = true;
  StoreHealth slow{clock, [this] { return trips.load(); },
                   [this] {
                     clock.advance(milliseconds(2000));  // answered two seconds later
                     return core::okStatus();
                   },
                   metrics};
  clock.advance(milliseconds(500));
  slow.tick();
  // Contact as of the question (500 ms in), so 2 s later the store counts as silent.
  EXPECT_FALSE(slow.reachable());
}

}  // namespace
}  // namespace jitb::leases
