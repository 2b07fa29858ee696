// Intake of people and subjects: what cannot be compared reliably is refused before it is stored.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/tickets/ticket.h"

namespace jitb::tickets {
namespace {

namespace json = boost::json;

json::object valid() {
  return json::parse(R"({"id":"CHG1","state":"approved","kind":"normal",
    "requested_by":"alice@example.com","approved_by":["bob@example.com"],
    "subjects":["repo:acme/api:environment:prod"],"access":["deploy"],
    "window":{"start":"2026-11-23T18:00:00Z","end":"2026-11-23T20:00:00Z"},
    "updated_at":"2026-11-23T17:55:02Z"})")
      .as_object();
}

std::string refusal(const json::object& o) {
  auto t = ticketFromJson(o);
  if (t.ok()) return "accepted";
  EXPECT_EQ(t.status().code(), core::Code::kInvalidArgument);
  return t.status().message();
}

bool says(const std::string& message, const char* part) {
  return message.find(part) != std::string::npos;
}

TEST(TicketIdentity, FormatAndControlCharactersAreRefusedNamingTheField) {
  const char* hidden[] = {"bob@example.com\u200b",
                          "\u202ebob@example.com",
                          "bob\u200e",
                          "\ufeffbob",
                          "bob\t",
                          "bob\r\n"};
  for (const char* h : hidden) {
    json::object o = valid();
    o["requested_by"] = h;
    std::string m = refusal(o);
    EXPECT_TRUE(says(m, "'requested_by'") && says(m, "control or format")) << h << ": " << m;

    o = valid();
    o["approved_by"] = json::array{"carol@example.com", h};
    m = refusal(o);
    EXPECT_TRUE(says(m, "'approved_by[1]'") && says(m, "control or format")) << h << ": " << m;

    o = valid();
    o["subjects"] = json::array{h};
    m = refusal(o);
    EXPECT_TRUE(says(m, "'subjects[0]'") && says(m, "control or format")) << h << ": " << m;
  }
}

TEST(TicketIdentity, InvalidUtf8IsRefused) {
  json::object o = valid();
  o["approved_by"] = json::array{json::string("bob\xc0\xa0")};
  std::string m = refusal(o);
  EXPECT_TRUE(says(m, "'approved_by[0]' is not valid UTF-8")) << m;
  o = valid();
  o["requested_by"] = json::string("\xed\xa0\x80");
  EXPECT_TRUE(says(refusal(o), "'requested_by' is not valid UTF-8"));
}

TEST(TicketIdentity, NamesThatAreOnlyWhiteSpaceAreRefused) {
  json::object o = valid();
  o["approved_by"] = json::array{"\u00a0 "};
  EXPECT_TRUE(says(refusal(o), "'approved_by[0]' is empty")) << refusal(o);
  o = valid();
  o["requested_by"] = "\u3000";
  EXPECT_TRUE(says(refusal(o), "'requested_by' is empty")) << refusal(o);
}

TEST(TicketIdentity, OtherSpellingsAreAcceptedAndKeptAsSent) {
  // Comparisons normalise; the stored ticket says what the source said.
  json::object o = valid();
  o["requested_by"] = "Alice@Example.com ";
  o["approved_by"] = json::array{"\uff42ob@example.com", "bob@example.com\u00a0"};
  auto t = ticketFromJson(o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->requested_by, "Alice@Example.com ");
  EXPECT_EQ(t->approved_by,
            (std::vector<std::string>{"\uff42ob@example.com", "bob@example.com\u00a0"}));
}

TEST(TicketIdentity, ImmutableIdsRoundTrip) {
  json::object o = valid();
  o["requested_by_id"] = "6816f79c1b3300101c6e5f09e54bcb0a";
  o["approved_by_ids"] = json::array{"557058:bob"};
  auto t = ticketFromJson(o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->requested_by_id, "6816f79c1b3300101c6e5f09e54bcb0a");
  EXPECT_EQ(t->approved_by_ids, std::vector<std::string>{"557058:bob"});
  json::object back = ticketToJson(*t);
  EXPECT_EQ(back["requested_by_id"], "6816f79c1b3300101c6e5f09e54bcb0a");
  EXPECT_EQ(back["approved_by_ids"], (json::array{"557058:bob"}));
  // Without ids the ticket's JSON keeps its old shape.
  auto plain = ticketFromJson(valid());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(ticketToJson(*plain).contains("requested_by_id"));
  EXPECT_FALSE(ticketToJson(*plain).contains("approved_by_ids"));
}

TEST(TicketIdentity, ImmutableIdsAreValidated) {
  json::object o = valid();
  o["approved_by_ids"] = json::array{"a", "b"};  // two ids for one approver
  EXPECT_TRUE(says(refusal(o), "one id (or \"\") for each entry of 'approved_by'")) << refusal(o);
  o = valid();
  o["approved_by_ids"] = json::array{"id with space"};
  EXPECT_TRUE(says(refusal(o), "'approved_by_ids'"));
  o = valid();
  o["requested_by_id"] = std::string(129, 'a');
  EXPECT_TRUE(says(refusal(o), "'requested_by_id'"));
  o = valid();
  o["approved_by_ids"] = json::array{""};  // a person without an id is fine
  EXPECT_EQ(refusal(o), "accepted");
}

TEST(TicketIdentity, SourcedTicketsGetTheSameChecks) {
  auto t = ticketFromJson(valid());
  ASSERT_TRUE(t.ok());
  Ticket bad = *t;
  bad.approved_by = {"bob@example.com\u2060"};  // word joiner, Cf
  auto r = finishSourced(bad, t->window_start, t->window_end);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(says(r.status().message(), "'approved_by[0]'")) << r.status().message();
}

}  // namespace
}  // namespace jitb::tickets
