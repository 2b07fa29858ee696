#include "broker/core/duration.h"

#include <gtest/gtest.h>

namespace jitb::core {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsUnitsAndCompounds) {
  EXPECT_EQ(parseDuration("30s"), milliseconds(30'000));
  EXPECT_EQ(parseDuration("15m"), milliseconds(900'000));
  EXPECT_EQ(parseDuration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(parseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(parseDuration("2d"), milliseconds(172'800'000));
}

TEST(ParseDuration, RefusesBareNumbersUnknownUnitsAndJunk) {
  for (const char* bad : {"", "15", "10x", "m", "-5s", "1.5h", "5 s", "s5", "99999999999d"})
    EXPECT_FALSE(parseDuration(bad).has_value()) << bad;
}

TEST(FormatDuration, RoundTrips) {
  for (const char* s : {"1h30m", "15m", "45s", "250ms", "2h0m5s"}) {
    auto d = parseDuration(s);
    ASSERT_TRUE(d);
    EXPECT_EQ(parseDuration(formatDuration(*d)), d) << s;
  }
  EXPECT_EQ(formatDuration(milliseconds(5'400'000)), "1h30m");
}

TEST(Rfc3339, YearsATimePointCannotHoldAreRefused) {
  // A nanosecond system_clock spans 1677-2262; outside it the value would wrap around.
  EXPECT_FALSE(parseRfc3339("0001-01-01T00:00:00Z"));
  EXPECT_FALSE(parseRfc3339("1969-12-31T23:59:59Z"));
  EXPECT_FALSE(parseRfc3339("9999-12-31T23:59:59Z"));
  auto t = parseRfc3339("2200-12-31T23:59:59Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(formatRfc3339(*t), "2200-12-31T23:59:59Z");
}

TEST(Rfc3339, ParsesZuluOffsetsAndFractions) {
  auto t = parseRfc3339("2026-11-23T18:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(formatRfc3339(*t), "2026-11-23T18:00:00Z");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1795456800);
  auto off = parseRfc3339("2026-11-23T19:30:00+01:30");
  ASSERT_TRUE(off);
  EXPECT_EQ(*off, *t);
  auto frac = parseRfc3339("2026-11-23T18:00:00.250Z");
  ASSERT_TRUE(frac);
  EXPECT_EQ(*frac - *t, milliseconds(250));
}

TEST(Rfc3339, RefusesMalformedAndImpossibleDates) {
  for (const char* bad :
       {"", "2026-11-23", "2026-11-23 18:00:00", "2026-11-23T18:00:00", "2026-02-31T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T18:00:00Zjunk",
        "2026-11-23T18:00:00.Z"})
    EXPECT_FALSE(parseRfc3339(bad).has_value()) << bad;
}

}  // namespace
}  // namespace jitb::core
