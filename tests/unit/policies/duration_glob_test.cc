#include <gtest/gtest.h>

#include "policies/engine/duration.h"
#include "policies/engine/glob.h"

namespace jitb::policies {
namespace {

using std::chrono::milliseconds;

TEST(PolicyDuration, ParsesUnitsAndSums) {
  struct Case {
    const char* text;
    long long ms;
  } cases[] = {{"30s", 30'000},     {"15m", 900'000},     {"1h", 3'600'000}, {"500ms", 500},
               {"2d", 172'800'000}, {"1h30m", 5'400'000}, {"0s", 0}};
  for (const auto& c : cases) {
    auto d = parseDuration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

TEST(PolicyDuration, RefusesBareNumbersAndJunk) {
  for (const char* bad : {"", "15", "1h5", "h", "15x", "-1s", "1.5h", " 1h", "1h ", "1 h",
                          "99999999999999999999s", "4000d"})
    EXPECT_FALSE(parseDuration(bad).has_value()) << bad;
}

TEST(PolicyDuration, FormatsWholeSeconds) {
  EXPECT_EQ(formatSeconds(std::chrono::seconds(5400)), "1h30m");
  EXPECT_EQ(formatSeconds(std::chrono::seconds(7200)), "2h");
  EXPECT_EQ(formatSeconds(std::chrono::seconds(45)), "45s");
}

TEST(PolicyGlob, Matches) {
  static const std::string kManyA(200, 'a');  // backtracking must stay cheap
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  } cases[] = {
      {"acme/*", "acme/api", true},
      {"acme/*", "acme/", true},
      {"acme/*", "acme", false},
      {"acme/*", "evil/acme/api", false},
      {"*", "", true},
      {"", "", true},
      {"", "x", false},
      {"refs/heads/main", "refs/heads/main", true},
      {"refs/heads/main", "refs/heads/mainx", false},
      {"a?c", "abc", true},
      {"a?c", "ac", false},
      {"*/api", "acme/api", true},
      {"*/api", "acme/api2", false},
      {"a*b*c", "axxbyyc", true},
      {"a*b*c", "axxbyy", false},
      {"*a*a*a*a*a*b", kManyA.c_str(), false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(globMatch(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
}

}  // namespace
}  // namespace jitb::policies
