#include "broker/tickets/ticket.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace jitb::tickets {
namespace {

namespace json = boost::json;

json::object valid() {
  return json::parse(R"({"id":"CHG0031337","state":"approved","kind":"normal",
    "requested_by":"alice@example.com","approved_by":["bob@example.com"],
    "subjects":["repo:acme/api:environment:prod"],"access":["deploy"],
    "window":{"start":"2026-11-23T18:00:00Z","end":"2026-11-23T20:00:00Z"},
    "updated_at":"2026-11-23T17:55:02Z"})")
      .as_object();
}

TEST(Ticket, ParsesTheContractExampleAndRoundTrips) {
  auto t = ticketFromJson(valid());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->id, "CHG0031337");
  EXPECT_EQ(t->approved_by, std::vector<std::string>{"bob@example.com"});
  EXPECT_EQ(t->window_end - t->window_start, std::chrono::hours(2));
  auto again = ticketFromJson(ticketToJson(*t));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(json::serialize(ticketToJson(*again)), json::serialize(ticketToJson(*t)));
}

TEST(Ticket, EveryFieldIsValidated) {
  struct Case {
    const char* what;
    std::function<void(json::object&)> edit;
    const char* expect;
  } cases[] = {
      {"bad id", [](json::object& o) { o["id"] = "../etc"; }, "'id'"},
      {"long id", [](json::object& o) { o["id"] = std::string(65, 'A'); }, "'id'"},
      {"state enum", [](json::object& o) { o["state"] = "open"; }, "'state'"},
      {"kind enum", [](json::object& o) { o["kind"] = "urgent"; }, "'kind'"},
      {"missing requester", [](json::object& o) { o.erase("requested_by"); }, "requested_by"},
      {"approver type", [](json::object& o) { o["approved_by"] = "bob"; }, "approved_by"},
      {"empty subject", [](json::object& o) { o["subjects"] = json::array{""}; }, "subjects"},
      {"too many subjects",
       [](json::object& o) {
         json::array a;
         for (int i = 0; i < 101; ++i) a.emplace_back("s" + std::to_string(i));
         o["subjects"] = a;
       },
       "more than 100"},
      {"control chars", [](json::object& o) { o["requested_by"] = "a\nb"; }, "control"},
      {"window order",
       [](json::object& o) {
         o["window"] = {{"start", "2026-11-23T20:00:00Z"}, {"end", "2026-11-23T18:00:00Z"}};
       },
       "before its end"},
      {"window time", [](json::object& o) { o["window"].as_object()["end"] = "tomorrow"; },
       "RFC 3339"},
      {"missing window", [](json::object& o) { o.erase("window"); }, "'window'"},
      {"missing updated_at", [](json::object& o) { o.erase("updated_at"); }, "updated_at"},
      {"unknown key", [](json::object& o) { o["approvd_by"] = json::array{}; }, "approvd_by"},
  };
  for (const auto& c : cases) {
    json::object o = valid();
    c.edit(o);
    auto t = ticketFromJson(o);
    ASSERT_FALSE(t.ok()) << c.what;
    EXPECT_EQ(t.status().code(), core::Code::kInvalidArgument) << c.what;
    EXPECT_NE(t.status().message().find(c.expect), std::string::npos)
        << c.what << ": " << t.status().message();
  }
  EXPECT_FALSE(ticketFromJson(json::array{}).ok());
}

}  // namespace
}  // namespace jitb::tickets
