// The ServiceNow source against a scripted Table API: queries, paging, people, OAuth.
#include "broker/tickets/servicenow_source.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include "tests/support/fake_clock.h"

namespace jitb::tickets::servicenow {
namespace {

namespace json = boost::json;

constexpr const char* kBase = "https://acme.service-now.com";
const std::string kChg = "c0ffee00c0ffee00c0ffee00c0ffee00";
const std::string kAlice = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kBob = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

struct FakeInstance {
  std::vector<HttpCall> calls;
  bool page_changes = true;  // serve the change list one row per page, with Link headers
  bool extra_record = false;  // a record that was not asked for (a dropped query part)
  int token_requests = 0;
  bool reject_first_bearer = false;

  HttpAnswer table(const HttpCall& c) {
    std::string path = c.url.substr(std::string(kBase).size());
    if (path.rfind("/oauth_token.do", 0) == 0) {
      ++token_requests;
      return {200, {}, R"({"access_token":"tok)" + std::to_string(token_requests) +
                           R"(","refresh_token":"r1","expires_in":1800,"token_type":"Bearer"})"};
    }
    auto auth = c.headers.find("Authorization");
    if (auth == c.headers.end() || (reject_first_bearer && auth->second == "Bearer tok1"))
      return {401, {}, R"({"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"})"};
    if (path.rfind("/api/now/table/change_request?", 0) == 0) {
      EXPECT_NE(path.find("sysparm_display_value=false"), std::string::npos);
      EXPECT_NE(path.find("sysparm_query=numberIN"), std::string::npos);
      json::array rows = {json::parse(R"({"sys_id":")" + kChg + R"(","number":"CHG0030001","state":"-1",
          "approval":"approved","type":"normal","on_hold":"false","start_date":"2026-11-23 18:00:00",
          "end_date":"2026-11-23 20:00:00","requested_by":")" + kAlice + R"(","u_jit_subjects":"ci",
          "u_jit_access":"deploy","sys_updated_on":"2026-11-23 17:55:02"})")};
      if (extra_record)
        rows.push_back(json::parse(R"({"sys_id":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","number":"CHG0099999","state":"-1",
            "approval":"approved","start_date":"2026-11-23 18:00:00","end_date":"2026-11-23 20:00:00",
            "requested_by":")" + kAlice + R"(","sys_updated_on":"2026-11-23 17:55:02"})"));
      bool second = path.find("sysparm_offset=1") != std::string::npos;
      if (!page_changes || rows.size() == 1)
        return {200, {}, json::serialize(json::object{{"result", rows}})};
      json::array page = {rows[second ? 1 : 0]};
      std::map<std::string, std::string> h;
      if (!second)
        h["link"] = "<" + c.url + "&sysparm_offset=1>;rel=\"next\"";
      return {200, h, json::serialize(json::object{{"result", page}})};
    }
    if (path.rfind("/api/now/table/sysapproval_approver?", 0) == 0)
      return {200, {}, R"({"result":[{"sysapproval":")" + kChg + R"(","approver":")" + kBob +
                           R"(","state":"approved","sys_updated_on":"2026-11-23 17:50:00"}]})"};
    if (path.rfind("/api/now/table/sys_user?", 0) == 0)
      return {200, {}, R"({"result":[{"sys_id":")" + kAlice + R"(","email":"alice@example.com"},
                                     {"sys_id":")" + kBob + R"(","email":"bob@example.com"}]})"};
    return {404, {}, R"({"error":{"message":"No Record found"},"status":"failure"})"};
  }

  std::shared_ptr<ItsmHttp> http() {
    RetryPolicy p;
    p.requests_per_second = 0;
    return std::make_shared<ItsmHttp>(
        [this](const HttpCall& c) -> core::StatusOr<HttpAnswer> {
          calls.push_back(c);
          return table(c);
        },
        p, [](std::chrono::milliseconds) {});
  }
};

Settings settings() {
  Settings s;
  s.base_url = kBase;
  s.user = "svc";
  s.password = "pw";
  return s;
}

core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};

TEST(SnSource, ReadsTheChangeItsApprovalsAndItsPeopleInOneQueryEach) {
  FakeInstance sn;
  sn.page_changes = false;
  Source src(settings(), sn.http(), clock_);
  auto r = src.fetch({"CHG0030001", "CHG0030002"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->found.size(), 1u);
  EXPECT_EQ(r->missing, std::vector<std::string>{"CHG0030002"});
  const Ticket& t = r->found[0];
  EXPECT_EQ(t.state, "approved");
  EXPECT_EQ(t.requested_by, "alice@example.com");
  EXPECT_EQ(t.approved_by, std::vector<std::string>{"bob@example.com"});
  ASSERT_EQ(sn.calls.size(), 3u);  // change_request, sysapproval_approver, sys_user
  EXPECT_NE(sn.calls[0].url.find("numberINCHG0030001%2CCHG0030002"), std::string::npos);
  EXPECT_NE(sn.calls[1].url.find("sysapprovalIN" + kChg), std::string::npos);
  EXPECT_EQ(sn.calls[0].headers.at("Authorization"), "Basic c3ZjOnB3");
}

TEST(SnSource, FollowsLinkPagingAndIgnoresRecordsNotAskedFor) {
  FakeInstance sn;
  sn.extra_record = true;
  Source src(settings(), sn.http(), clock_);
  auto r = src.fetch({"CHG0030001"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->found.size(), 1u);
  EXPECT_EQ(r->found[0].id, "CHG0030001");
  EXPECT_NE(sn.calls[1].url.find("sysparm_offset=1"), std::string::npos);
}

TEST(SnSource, NeverPutsAnUnsafeIdIntoAQuery) {
  FakeInstance sn;
  Source src(settings(), sn.http(), clock_);
  EXPECT_FALSE(src.owns("CHG1^NQstate=3"));
  EXPECT_FALSE(src.owns("INC0010001"));
  EXPECT_TRUE(src.owns("RITM0010001"));
  auto r = src.fetch({"CHG1^NQstate=3"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(sn.calls.empty());
}

TEST(SnSource, OAuthTokenIsReusedAndRenewedOnce401) {
  FakeInstance sn;
  sn.page_changes = false;
  Settings s = settings();
  s.auth = "oauth_password";
  s.client_id = "cid";
  s.client_secret = "cs";
  Source src(s, sn.http(), clock_);
  ASSERT_TRUE(src.fetch({"CHG0030001"}).ok());
  ASSERT_TRUE(src.fetch({"CHG0030001"}).ok());
  EXPECT_EQ(sn.token_requests, 1);
  EXPECT_NE(sn.calls[0].body.find("grant_type=password"), std::string::npos);
  EXPECT_EQ(sn.calls[1].headers.at("Authorization"), "Bearer tok1");
  // The instance revokes the token: one renewal (with the refresh token), then success.
  FakeInstance sn2;
  sn2.page_changes = false;
  sn2.reject_first_bearer = true;
  Source src2(s, sn2.http(), clock_);
  ASSERT_TRUE(src2.fetch({"CHG0030001"}).ok());
  EXPECT_EQ(sn2.token_requests, 2);
  bool refreshed = false;
  for (const auto& c : sn2.calls) refreshed |= c.body.find("grant_type=refresh_token") != std::string::npos;
  EXPECT_TRUE(refreshed);
}

TEST(SnSource, ErrorsAreUnavailableWithServiceNowsMessage) {
  FakeInstance sn;
  Settings s = settings();
  s.base_url = std::string(kBase);
  Source src(s, std::make_shared<ItsmHttp>(
                    [](const HttpCall&) -> core::StatusOr<HttpAnswer> {
                      return HttpAnswer{401, {}, R"({"error":{"message":"User Not Authenticated","detail":"x"},"status":"failure"})"};
                    },
                    RetryPolicy{1, {}, {}, 0}, [](std::chrono::milliseconds) {}),
             clock_);
  auto r = src.fetch({"CHG0030001"});
  EXPECT_EQ(r.status().code(), core::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("User Not Authenticated"), std::string::npos);
}

TEST(SnSource, LinkOffTheInstanceIsRefused) {
  Source src(settings(), std::make_shared<ItsmHttp>(
                             [](const HttpCall&) -> core::StatusOr<HttpAnswer> {
                               return HttpAnswer{200, {{"link", "<https://evil.example/api/now/table/x>;rel=\"next\""}}, R"({"result":[]})"};
                             },
                             RetryPolicy{1, {}, {}, 0}, [](std::chrono::milliseconds) {}),
             clock_);
  auto r = src.fetch({"CHG0030001"});
  EXPECT_EQ(r.status().code(), core::Code::kUnavailable);
}

}  // namespace
}  // namespace jitb::tickets::servicenow
