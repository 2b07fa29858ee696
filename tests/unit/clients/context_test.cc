#include "clients/jitctl/context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>

#include "broker/core/files.h"

namespace jitb::jitctl {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::Return;

constexpr const char* kHelp = "usage: jitctl thing\n";

TEST(ParseArgs, ShortHelpOnlyWhereAsked) {
  client::Args a;
  int code = -1;
  EXPECT_FALSE(parseArgs({"-h"}, kHelp, {}, {}, a, code));
  EXPECT_EQ(code, kOk);

  client::Args b;
  code = -1;
  EXPECT_TRUE(parseArgs({"-h"}, kHelp, {}, {}, b, code, true, /*short_help=*/false));
  EXPECT_EQ(b.positional(), std::vector<std::string>{"-h"});

  client::Args c;
  EXPECT_FALSE(parseArgs({"--help"}, kHelp, {}, {}, c, code, true, /*short_help=*/false));
  EXPECT_EQ(code, kOk);
}

TEST(ParseArgs, GlobalFlagsAlwaysAndJsonWhenAsked) {
  client::Args a;
  int code = -1;
  ASSERT_TRUE(parseArgs({"--broker", "https://b", "--ttl", "1h", "--once", "--json"}, kHelp,
                        {"--ttl"}, {"--once"}, a, code));
  EXPECT_EQ(a.get("--broker"), "https://b");
  EXPECT_EQ(a.get("--ttl"), "1h");
  EXPECT_TRUE(a.has("--once"));
  EXPECT_TRUE(a.has("--json"));

  client::Args b;
  EXPECT_FALSE(parseArgs({"--json"}, kHelp, {}, {}, b, code, /*json=*/false));
  EXPECT_EQ(code, kUsage);
}

using SendFn = core::StatusOr<client::HttpReply>(const std::string&, const std::string&,
                                                 const std::map<std::string, std::string>&,
                                                 const std::string&, const client::HttpOptions&);

class AdminCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jitb-ctx-" + core::randomHex(6));
    ASSERT_TRUE(core::ensureDir(dir_.string()).ok());
    token_ = (dir_ / "admin.token").string();
    ASSERT_TRUE(core::writeFileAtomic(token_, "s3cret\n").ok());
    ::setenv("JITBROKER_ADMIN_TOKEN_FILE", token_.c_str(), 1);
    ctx_.broker = "https://broker";
    ctx_.send = broker_.AsStdFunction();
  }
  void TearDown() override {
    ::unsetenv("JITBROKER_ADMIN_TOKEN_FILE");
    fs::remove_all(dir_);
  }
  static client::HttpReply reply(int status, std::string body) {
    return client::HttpReply{status, {}, std::move(body)};
  }

  fs::path dir_;
  std::string token_;
  ::testing::MockFunction<SendFn> broker_;
  Context ctx_;
};

TEST_F(AdminCallTest, AddsTheBearerToTheCallersHeaders) {
  EXPECT_CALL(broker_, Call("POST", "https://broker/v1/introspect",
                            ElementsAre(Pair("Authorization", "Bearer s3cret"),
                                        Pair("Content-Type", "application/x-www-form-urlencoded")),
                            "token=x", _))
      .WillOnce(Return(reply(200, "{}")));
  client::HttpReply r;
  EXPECT_EQ(ctx_.adminCall("POST", "/v1/introspect", r, "token=x",
                           {{"Content-Type", "application/x-www-form-urlencoded"}}),
            kOk);
  EXPECT_EQ(r.body, "{}");
}

TEST_F(AdminCallTest, PagesFollowTheCursorAfterAnExistingQuery) {
  ::testing::InSequence seq;
  EXPECT_CALL(broker_, Call("GET", "https://broker/v1/leases?state=active", _, "", _))
      .WillOnce(Return(reply(200, R"({"leases":[1,2],"next":"c/1"})")));
  EXPECT_CALL(broker_, Call("GET", "https://broker/v1/leases?state=active&cursor=c%2F1", _, "", _))
      .WillOnce(Return(reply(200, R"({"leases":[3],"next":null})")));
  json::array all;
  EXPECT_EQ(ctx_.adminPages("/v1/leases?state=active", "leases", all), kOk);
  EXPECT_EQ(all, (json::array{1, 2, 3}));
}

TEST_F(AdminCallTest, PagesWithoutAQueryAndStopAtAnError) {
  ::testing::InSequence seq;
  EXPECT_CALL(broker_, Call("GET", "https://broker/v1/reviews", _, "", _))
      .WillOnce(Return(reply(200, R"({"reviews":[1],"next":"n"})")));
  EXPECT_CALL(broker_, Call("GET", "https://broker/v1/reviews?cursor=n", _, "", _))
      .WillOnce(Return(reply(503, R"({"error":"unavailable"})")));
  json::array all;
  EXPECT_EQ(ctx_.adminPages("/v1/reviews", "reviews", all), kUnavailable);
  EXPECT_EQ(all, (json::array{1}));
}

TEST_F(AdminCallTest, PrintedRawOnlyWithJson) {
  client::HttpReply r = reply(200, R"({"a":1})");
  ::testing::internal::CaptureStdout();
  EXPECT_FALSE(ctx_.printedRaw(r));
  ctx_.json = true;
  EXPECT_TRUE(ctx_.printedRaw(r));
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "{\"a\":1}\n");
}

TEST_F(AdminCallTest, AdminCommandRefusesOtherWordsAndCountsBeforeAnyCall) {
  AdminCommand show{kHelp, "expected: thing show ID", {"show"}, 1, "GET",
                    [](const std::vector<std::string>& ids) { return "/v1/things/" + ids[0]; },
                    [](const client::HttpReply& r) { return r.body == "{}" ? kOk : kFailure; }};
  EXPECT_CALL(broker_, Call(_, _, _, _, _)).Times(0);
  EXPECT_EQ(runAdminCommand({"list", "x"}, show), kUsage);
  EXPECT_EQ(runAdminCommand({"show"}, show), kUsage);
  EXPECT_EQ(runAdminCommand({"show", "a", "b"}, show), kUsage);
}

TEST_F(AdminCallTest, AdminCommandPrintsItsOwnWayOrRawWithJson) {
  int printed = 0;
  AdminCommand rotate{kHelp, "expected: keys rotate", {"rotate"}, 0, "POST",
                      [](const std::vector<std::string>& ids) {
                        return "/v1/keys/" + (ids.empty() ? std::string("rotate") : ids[0]);
                      },
                      [&printed](const client::HttpReply&) {
                        ++printed;
                        return kFailure;
                      }};
  EXPECT_CALL(broker_, Call("POST", "https://broker/v1/keys/a%2Fb", _, "", _))
      .WillRepeatedly(Return(reply(200, "{}")));
  EXPECT_EQ(rotate.call(ctx_, {"a%2Fb"}), kFailure);  // print's exit code
  EXPECT_EQ(printed, 1);
  ctx_.json = true;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(rotate.call(ctx_, {"a%2Fb"}), kOk);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "{}\n");
  EXPECT_EQ(printed, 1);
  EXPECT_EQ(runAdminCommand({"--help"}, rotate), kOk);
}

}  // namespace
}  // namespace jitb::jitctl
