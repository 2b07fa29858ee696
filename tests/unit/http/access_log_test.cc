#include "broker/http/access_log.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace jitb::http {
namespace {

TEST(AccessLog, OneJsonObjectWithTheListedFields) {
  AccessRecord r{std::chrono::system_clock::from_time_t(1795456800) + std::chrono::milliseconds(7),
                 "POST", "/v1/token", "/v1/token", 200, 1234, "repo:acme/api", "127.0.0.1:5000",
                 "", ""};
  std::string line = formatAccessLog(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto o = boost::json::parse(line).as_object();
  EXPECT_EQ(o.at("time").as_string(), "2026-11-23T18:00:00.007Z");
  EXPECT_EQ(o.at("method").as_string(), "POST");
  EXPECT_EQ(o.at("status").as_int64(), 200);
  EXPECT_EQ(o.at("duration_us").as_int64(), 1234);
  EXPECT_EQ(o.at("subject").as_string(), "repo:acme/api");
}

TEST(AccessLog, HostileFieldsStayInsideTheirStrings) {
  AccessRecord r{std::chrono::system_clock::now(), "GET", "/a\"\n{\"status\":1}", "unmatched",
                 404, 1, "", "", "", ""};
  std::string line = formatAccessLog(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto o = boost::json::parse(line).as_object();
  EXPECT_EQ(o.at("status").as_int64(), 404);
  EXPECT_FALSE(o.contains("subject"));
}

TEST(AccessLog, DenialsNameTheirRuleAndErrorCode) {
  AccessRecord r{std::chrono::system_clock::now(), "POST", "/v1/token", "/v1/token", 400, 1, "", "",
                 "caller.subject", "invalid_grant"};
  auto o = boost::json::parse(formatAccessLog(r)).as_object();
  EXPECT_EQ(o.at("rule").as_string(), "caller.subject");
  EXPECT_EQ(o.at("error").as_string(), "invalid_grant");
}

}  // namespace
}  // namespace jitb::http
