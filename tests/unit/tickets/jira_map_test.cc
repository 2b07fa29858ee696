#include "broker/tickets/jira_map.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/core/duration.h"
#include "broker/tickets/webhook.h"

namespace jitb::tickets::jira {
namespace {

namespace json = boost::json;

Mapping mapping() {
  Mapping m;
  m.project_keys = {"OPS"};
  m.status_map = {{"10500", "rejected"}, {"10501", "canceled"}};
  m.kind_map = {{"10200", "emergency"}};
  m.subjects_field = "customfield_10050";
  m.access_field = "customfield_10051";
  m.window_start_field = "customfield_10052";
  m.window_end_field = "customfield_10053";
  return m;
}

json::object issue(const char* status_id = "3", const char* category = "indeterminate") {
  return json::parse(std::string(R"({"id":"15013","key":"OPS-557","self":"https://x.atlassian.net/rest/api/2/issue/15013",
    "fields":{"status":{"id":")") + status_id + R"(","name":"In Progress","statusCategory":{"key":")" + category + R"("}},
      "issuetype":{"id":"10200","name":"Emergency Change"},
      "reporter":{"accountId":"557058:alice","emailAddress":"alice@example.com","displayName":"Alice"},
      "updated":"2026-11-23T17:55:02.123+0000",
      "customfield_10050":[{"value":"repo:acme/api:environment:prod"}],
      "customfield_10051":"deploy, read",
      "customfield_10052":"2026-11-23T18:00:00.000+0000",
      "customfield_10053":"2026-11-23T20:00:00.000+0000"}})").as_object();
}

Approval approval(const char* decision, const char* who = "557058:bob") {
  json::object a = json::parse(std::string(R"({"id":"1","name":"Change approval","finalDecision":")") + decision +
                               R"(","approvers":[{"approver":{"accountId":")" + who +
                               R"("},"approverDecision":")" + decision +
                               R"("}],"completedDate":{"epochMillis":1795460000000,"iso8601":"2026-11-23T18:53:20+0000"}})")
                       .as_object();
  return parseApproval(a, "accountId");
}

TEST(JiraTime, ParsesJiraDatetimesAndDates) {
  EXPECT_EQ(core::formatRfc3339(*parseTime("2016-09-28T14:01:00+0700")), "2016-09-28T07:01:00Z");
  EXPECT_EQ(core::formatRfc3339(*parseTime("2026-11-23T18:00:00.000+0000")), "2026-11-23T18:00:00Z");
  EXPECT_EQ(core::formatRfc3339(*parseTime("2026-11-23T18:00:00Z")), "2026-11-23T18:00:00Z");
  EXPECT_EQ(core::formatRfc3339(*parseTime("2026-11-23")), "2026-11-23T00:00:00Z");
  EXPECT_FALSE(parseTime(""));
  EXPECT_FALSE(parseTime("23/Nov/26 6:00 PM"));
}

TEST(JiraMap, ApprovedWhenTheStatusSaysSoAndEveryApprovalIsApproved) {
  auto t = toTicket(mapping(), issue(), {approval("approved")});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->id, "OPS-557");
  EXPECT_EQ(t->state, "approved");
  EXPECT_EQ(t->kind, "emergency");
  EXPECT_EQ(t->requested_by, "557058:alice");
  EXPECT_EQ(t->approved_by, std::vector<std::string>{"557058:bob"});
  EXPECT_EQ(t->subjects, std::vector<std::string>{"repo:acme/api:environment:prod"});
  EXPECT_EQ(t->access, (std::vector<std::string>{"deploy", "read"}));
  EXPECT_EQ(core::formatRfc3339(t->window_end), "2026-11-23T20:00:00Z");
  // The approval completed after the issue's last update.
  EXPECT_EQ(core::formatRfc3339(t->updated_at), "2026-11-23T18:53:20Z");
  EXPECT_EQ(t->source_system, "jira");
  EXPECT_EQ(t->source_record_id, "15013");
}

TEST(JiraMap, PendingOrDeclinedApprovalsGateTheState) {
  EXPECT_EQ(toTicket(mapping(), issue(), {approval("approved"), approval("pending")})->state, "pending");
  EXPECT_EQ(toTicket(mapping(), issue(), {approval("declined")})->state, "rejected");
}

TEST(JiraMap, StatusIdsWinOverCategories) {
  EXPECT_EQ(toTicket(mapping(), issue("10000", "new"), {})->state, "pending");
  EXPECT_EQ(toTicket(mapping(), issue("10002", "done"), {})->state, "closed");
  EXPECT_EQ(toTicket(mapping(), issue("10501", "done"), {})->state, "canceled");
  EXPECT_EQ(toTicket(mapping(), issue("10500", "indeterminate"), {approval("approved")})->state, "rejected");
}

TEST(JiraMap, EmailIdentityAndMissingWindow) {
  Mapping m = mapping();
  m.identity = "emailAddress";
  json::object i = issue();
  i["fields"].as_object().erase("customfield_10053");
  auto t = toTicket(m, i, {});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->requested_by, "alice@example.com");
  EXPECT_EQ(t->state, "pending");  // no window authorises nothing
}

TEST(JiraMap, CarriesAccountIdsBesideEmailAddresses) {
  // Alice reported the issue as alice@example.com and approved as alice@corp.example (a
  // changed address): the accountId is the same, which separation of duties compares.
  Mapping m = mapping();
  m.identity = "emailAddress";
  auto parse = [](const char* users) {
    return parseApproval(json::parse(std::string(R"({"finalDecision":"approved","approvers":)") +
                                     users + "}")
                             .as_object(),
                         "emailAddress");
  };
  Approval a = parse(R"([
      {"approver":{"accountId":"557058:bob","emailAddress":"bob@example.com"},"approverDecision":"approved"},
      {"approver":{"accountId":"557058:alice","emailAddress":"alice@corp.example"},"approverDecision":"approved"},
      {"approver":{"accountId":"557058:carol","emailAddress":"carol@example.com"},"approverDecision":"pending"}])");
  EXPECT_EQ(a.approved_by, (std::vector<std::string>{"bob@example.com", "alice@corp.example"}));
  EXPECT_EQ(a.approved_by_ids, (std::vector<std::string>{"557058:bob", "557058:alice"}));
  // The same account in a second approval, under another address: one approver.
  Approval again = parse(R"([
      {"approver":{"accountId":"557058:bob","emailAddress":"robert@example.com"},"approverDecision":"approved"}])");
  auto t = toTicket(m, issue(), {a, again});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->requested_by, "alice@example.com");
  EXPECT_EQ(t->requested_by_id, "557058:alice");
  EXPECT_EQ(t->approved_by, (std::vector<std::string>{"bob@example.com", "alice@corp.example"}));
  EXPECT_EQ(t->approved_by_ids, (std::vector<std::string>{"557058:bob", "557058:alice"}));
}

TEST(JiraMap, ASubSecondWindowIsNoWindow) {
  json::object i = issue();
  i["fields"].as_object()["customfield_10052"] = "2026-11-23T18:00:00.100+0000";
  i["fields"].as_object()["customfield_10053"] = "2026-11-23T18:00:00.900+0000";
  auto t = toTicket(mapping(), i, {approval("approved")});
  ASSERT_TRUE(t.ok()) << t.status().message();  // readable, but authorises nothing
  EXPECT_EQ(t->state, "pending");
}

TEST(JiraMap, OnlyConfiguredProjectsAreOwned) {
  EXPECT_TRUE(ownsKey(mapping(), "OPS-1"));
  EXPECT_FALSE(ownsKey(mapping(), "DEV-1"));
  EXPECT_FALSE(ownsKey(mapping(), "OPS-"));
  EXPECT_FALSE(ownsKey(mapping(), "OPS-1/../../x"));
  EXPECT_FALSE(toTicket(mapping(), json::parse(R"({"key":"DEV-1","fields":{}})").as_object(), {}).ok());
}

TEST(JiraSignature, VerifiesSha256OverTheRawBody) {
  // printf '{"a":1}' | openssl dgst -sha256 -hmac secret
  const std::string body = "{\"a\":1}";
  const std::string hex = "aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494";
  EXPECT_TRUE(verifyHubSignature("sha256=" + hex, body, "secret").ok());
  EXPECT_FALSE(verifyHubSignature("sha256=" + hex, body + " ", "secret").ok());  // re-serialised
  EXPECT_FALSE(verifyHubSignature("sha256=" + hex, body, "other").ok());
  EXPECT_FALSE(verifyHubSignature("sha1=" + hex, body, "secret").ok());
  EXPECT_FALSE(verifyHubSignature("sha256=" + hex.substr(0, 62), body, "secret").ok());
  EXPECT_FALSE(verifyHubSignature("", body, "secret").ok());
  EXPECT_FALSE(verifyHubSignature("sha256=zz", body, "secret").ok());
}

}  // namespace
}  // namespace jitb::tickets::jira
