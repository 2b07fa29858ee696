#include "broker/tickets/itsm_http.h"

#include <gtest/gtest.h>

#include <deque>

namespace jitb::tickets {
namespace {

using namespace std::chrono_literals;

// Answers from a script; records every call and every sleep.
struct Script {
  std::deque<core::StatusOr<HttpAnswer>> answers;
  int calls = 0;
  std::vector<std::chrono::milliseconds> sleeps;
  ItsmHttp http(RetryPolicy p = {}) {
    p.requests_per_second = 0;
    return ItsmHttp(
        [this](const HttpCall&) -> core::StatusOr<HttpAnswer> {
          ++calls;
          auto a = answers.front();
          answers.pop_front();
          return a;
        },
        p, [this](std::chrono::milliseconds d) { sleeps.push_back(d); });
  }
};

HttpAnswer answer(int status, std::map<std::string, std::string> headers = {}) {
  return HttpAnswer{status, std::move(headers), "{}"};
}

TEST(ItsmHttp, RetriesServerErrorsAndTooManyRequestsThenAnswers) {
  Script s;
  s.answers = {answer(503), answer(429), answer(200)};
  auto r = s.http().send({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(s.calls, 3);
  ASSERT_EQ(s.sleeps.size(), 2u);
  // Jittered exponential: the second wait is drawn from a doubled range.
  EXPECT_GE(s.sleeps[0], 100ms);
  EXPECT_LE(s.sleeps[0], 200ms);
  EXPECT_GE(s.sleeps[1], 200ms);
  EXPECT_LE(s.sleeps[1], 400ms);
}

TEST(ItsmHttp, HonoursRetryAfterUpToTheCap) {
  Script s;
  s.answers = {answer(429, {{"retry-after", "2"}}), answer(429, {{"retry-after", "3600"}}), answer(200)};
  ASSERT_TRUE(s.http().send({}).ok());
  EXPECT_EQ(s.sleeps[0], 2000ms);
  EXPECT_EQ(s.sleeps[1], 5000ms);
}

TEST(ItsmHttp, GivesUpAsUnavailableAndNeverRetriesClientErrors) {
  Script s;
  s.answers = {core::unavailable("connection refused"), core::unavailable("connection refused"),
               core::unavailable("connection refused")};
  auto r = s.http().send({});
  EXPECT_EQ(r.status().code(), core::Code::kUnavailable);
  EXPECT_EQ(s.calls, 3);
  Script t;
  t.answers = {answer(404)};
  r = t.http().send({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(t.calls, 1);
}

TEST(ItsmHttp, PacesRequestsToTheConfiguredRate) {
  std::vector<std::chrono::milliseconds> sleeps;
  RetryPolicy p;
  p.requests_per_second = 10;
  ItsmHttp http([](const HttpCall&) -> core::StatusOr<HttpAnswer> { return answer(200); }, p,
                [&](std::chrono::milliseconds d) { sleeps.push_back(d); });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(http.send({}).ok());
  // The injected sleep does not wait, so each later call is told to wait a further slot.
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_GE(sleeps[0], 90ms);
  EXPECT_GE(sleeps[1], 190ms);
}

TEST(ItsmHttp, LinkHeaderNextAndHelpers) {
  const char* h =
      "<https://x.service-now.com/api/now/table/change_request?sysparm_limit=1&sysparm_offset=0>;rel=\"first\","
      "<https://x.service-now.com/api/now/table/change_request?sysparm_limit=1&sysparm_offset=1>;rel=\"next\","
      "<https://x.service-now.com/api/now/table/change_request?sysparm_limit=1&sysparm_offset=9>;rel=\"last\"";
  EXPECT_EQ(*linkNext(h), "https://x.service-now.com/api/now/table/change_request?sysparm_limit=1&sysparm_offset=1");
  EXPECT_FALSE(linkNext("<https://x/a>;rel=\"last\""));
  EXPECT_FALSE(linkNext(""));
  EXPECT_EQ(basicAuth("user", "pass"), "Basic dXNlcjpwYXNz");
  EXPECT_EQ(urlOrigin("https://x.service-now.com:8443/api?a"), "https://x.service-now.com:8443");
  EXPECT_NE(urlOrigin("https://x.service-now.com.evil.example/api"), urlOrigin("https://x.service-now.com/api"));
}

// The two lanes of the request budget, on an injected steady clock: sleeps advance it.
struct Paced {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  int calls = 0;
  std::vector<std::chrono::milliseconds> sleeps;
  ItsmHttp http(double rps, double share) {
    RetryPolicy p;
    p.requests_per_second = rps;
    p.lookup_share = share;
    return ItsmHttp(
        [this](const HttpCall&) -> core::StatusOr<HttpAnswer> {
          ++calls;
          return HttpAnswer{200, {}, "{}"};
        },
        p,
        [this](std::chrono::milliseconds d) {
          sleeps.push_back(d);
          now += d;
        },
        [this] { return now; });
  }
};

TEST(ItsmHttp, LookupsNeverWaitAndFailFastOnceTheirShareIsSpent) {
  Paced p;
  ItsmHttp http = p.http(10, 0.5);
  LookupLane lane;
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(http.send({}).ok()) << i;  // the burst: a few reads
  auto r = http.send({});
  EXPECT_EQ(r.status().code(), core::Code::kUnavailable);
  EXPECT_EQ(r.status().detail(), "lookup_budget");
  EXPECT_EQ(p.calls, 8);  // the refused one never reached the API
  EXPECT_TRUE(p.sleeps.empty());
  p.now += std::chrono::milliseconds(199);
  EXPECT_FALSE(http.send({}).ok());
  p.now += std::chrono::milliseconds(1);  // 5 per second: one more after 200 ms
  EXPECT_TRUE(http.send({}).ok());
  EXPECT_FALSE(http.send({}).ok());
  EXPECT_TRUE(p.sleeps.empty());
}

TEST(ItsmHttp, TriggersAndPollsKeepTheRestOfTheRateUnderAFloodOfLookups) {
  Paced p;
  ItsmHttp http = p.http(10, 0.5);
  // Over 10 s, lookups try every 10 ms and the other lane sends back to back.
  int lookups = 0, others = 0;
  const auto end = p.now + std::chrono::seconds(10);
  auto next_lookup = p.now;
  while (p.now < end) {
    while (next_lookup <= p.now) {
      LookupLane lane;
      lookups += http.send({}).ok();
      next_lookup += std::chrono::milliseconds(10);
    }
    ASSERT_TRUE(http.send({}).ok());  // waits (sleeps) for its slot, never refused
    ++others;
  }
  EXPECT_LE(lookups, 8 + 5 * 10 + 1);  // the burst, then half of 10 per second
  EXPECT_GE(lookups, 5 * 10);
  EXPECT_GE(others, 5 * 10);           // the rest of the rate, whatever the lookups do
  EXPECT_LE(others, 5 * 10 + 1);
  // Each slot of the waiting lane is 200 ms after the last: lookups never push it back.
  for (auto d : p.sleeps) EXPECT_LE(d, std::chrono::milliseconds(200));
}

TEST(ItsmHttp, ZeroLookupShareRefusesEveryLookupAndNoRateLimitsNone) {
  Paced p;
  ItsmHttp none = p.http(10, 0);
  ItsmHttp unlimited = p.http(0, 0);
  LookupLane lane;
  EXPECT_FALSE(none.send({}).ok());
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(unlimited.send({}).ok());
  {
    LookupLane nested;
    EXPECT_TRUE(LookupLane::active());
  }
  EXPECT_TRUE(LookupLane::active());  // the outer lane still holds
}

TEST(ItsmHttp, RequestsOutsideALookupLaneAreNotLookups) {
  Paced p;
  ItsmHttp http = p.http(10, 0);
  EXPECT_FALSE(LookupLane::active());
  EXPECT_TRUE(http.send({}).ok());
  EXPECT_TRUE(http.send({}).ok());
}

}  // namespace
}  // namespace jitb::tickets
