#include "broker/core/token_bucket.h"

#include <gtest/gtest.h>

#include <chrono>

namespace jitb::core {
namespace {

using Time = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

TEST(TokenBucket, StartsFullAndRefusesOnceEmpty) {
  const RateLimit limit{2, 3};
  Time t0{};
  TokenBucket<Time> b(limit, t0);
  EXPECT_TRUE(b.take(limit, t0));
  EXPECT_TRUE(b.take(limit, t0));
  EXPECT_TRUE(b.take(limit, t0));
  EXPECT_FALSE(b.take(limit, t0));
  EXPECT_DOUBLE_EQ(b.level(limit, t0), 0);
}

TEST(TokenBucket, RefillsAtTheRateUpToTheBurst) {
  const RateLimit limit{2, 3};
  Time t0{};
  TokenBucket<Time> b(limit, t0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.take(limit, t0));
  EXPECT_FALSE(b.take(limit, t0 + milliseconds(400)));  // 0.8 of a token
  EXPECT_TRUE(b.take(limit, t0 + milliseconds(500)));   // 1.0
  EXPECT_DOUBLE_EQ(b.level(limit, t0 + milliseconds(10'000)), 3);  // capped at the burst
}

TEST(TokenBucket, ARefusalCostsNothing) {
  const RateLimit limit{1, 1};
  Time t0{};
  TokenBucket<Time> b(limit, t0);
  ASSERT_TRUE(b.take(limit, t0));
  EXPECT_FALSE(b.take(limit, t0 + milliseconds(600)));
  // Neither a token nor the refill since t0 is lost to the refused call: one whole token.
  EXPECT_TRUE(b.take(limit, t0 + milliseconds(1000)));
  EXPECT_FALSE(b.take(limit, t0 + milliseconds(1000)));
}

TEST(TokenBucket, TimeGoingBackwardsRefillsNothing) {
  const RateLimit limit{10, 1};
  Time t0 = Time{} + std::chrono::seconds(100);
  TokenBucket<Time> b(limit, t0);
  ASSERT_TRUE(b.take(limit, t0));
  EXPECT_DOUBLE_EQ(b.level(limit, t0 - std::chrono::seconds(50)), 0);
  EXPECT_FALSE(b.take(limit, t0 - std::chrono::seconds(50)));
}

TEST(TokenBucket, ZeroBurstNeverGivesAToken) {
  const RateLimit limit{0, 0};
  Time t0{};
  TokenBucket<Time> b(limit, t0);
  EXPECT_FALSE(b.take(limit, t0));
  EXPECT_FALSE(b.take(limit, t0 + std::chrono::hours(1)));
}

}  // namespace
}  // namespace jitb::core
