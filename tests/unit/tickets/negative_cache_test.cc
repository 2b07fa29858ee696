// Unknown ids are remembered for the TTL, by the injected clock, and never past the capacity.
#include "broker/tickets/negative_cache.h"

#include <gtest/gtest.h>
#include "tests/support/fake_clock.h"

namespace jitb::tickets {
namespace {

using namespace std::chrono_literals;

TEST(NegativeCache, RemembersAMissForTheTtlOnly) {
  core::FakeClock clock(core::TimePoint(1'700'000'000s));
  NegativeCache cache(clock, 15s, 100);
  EXPECT_FALSE(cache.contains("CHG1"));
  cache.add("CHG1");
  EXPECT_TRUE(cache.contains("CHG1"));
  clock.advance(14s);
  EXPECT_TRUE(cache.contains("CHG1"));
  clock.advance(1s);
  EXPECT_FALSE(cache.contains("CHG1"));
  EXPECT_EQ(cache.size(), 0u);  // an expired entry is dropped when seen
}

TEST(NegativeCache, AddingAgainRestartsTheTtlAndEraseForgets) {
  core::FakeClock clock(core::TimePoint(1'700'000'000s));
  NegativeCache cache(clock, 10s, 100);
  cache.add("CHG1");
  clock.advance(8s);
  cache.add("CHG1");
  clock.advance(8s);
  EXPECT_TRUE(cache.contains("CHG1"));
  cache.erase("CHG1");
  EXPECT_FALSE(cache.contains("CHG1"));
}

TEST(NegativeCache, IsBoundedAndEvictsTheOldestFirst) {
  core::FakeClock clock(core::TimePoint(1'700'000'000s));
  NegativeCache cache(clock, 30s, 3);
  for (const char* id : {"CHG1", "CHG2", "CHG3", "CHG4"}) {
    cache.add(id);
    clock.advance(1ms);
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.contains("CHG1"));
  EXPECT_TRUE(cache.contains("CHG2"));
  EXPECT_TRUE(cache.contains("CHG4"));
  // Re-adding one id many times does not grow the cache, nor evict the others.
  for (int i = 0; i < 20; ++i) {
    cache.add("CHG4");
    clock.advance(1ms);
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.contains("CHG2"));
  EXPECT_TRUE(cache.contains("CHG3"));
}

TEST(NegativeCache, ZeroCapacityRemembersNothing) {
  core::FakeClock clock(core::TimePoint(1'700'000'000s));
  NegativeCache cache(clock, 30s, 0);
  cache.add("CHG1");
  EXPECT_FALSE(cache.contains("CHG1"));
}

}  // namespace
}  // namespace jitb::tickets
