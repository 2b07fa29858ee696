// Table-driven tests of the ServiceNow mappings, from wire-formats.md §1's examples.
#include "broker/tickets/servicenow_map.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/core/duration.h"

namespace jitb::tickets::servicenow {
namespace {

namespace json = boost::json;

struct TimeCase {
  const char* name;
  const char* in;
  const char* want;  // RFC 3339, or nullptr for refused
};

class SnTimeTest : public ::testing::TestWithParam<TimeCase> {};

TEST_P(SnTimeTest, ParsesRawUtcValuesOnly) {
  auto got = parseTime(GetParam().in);
  if (!GetParam().want) {
    EXPECT_FALSE(got) << GetParam().in;
  } else {
    ASSERT_TRUE(got) << GetParam().in;
    EXPECT_EQ(core::formatRfc3339(*got), GetParam().want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Dates, SnTimeTest,
    ::testing::Values(TimeCase{"reference_example", "2025-03-01 14:00:00", "2025-03-01T14:00:00Z"},
                      TimeCase{"midnight", "2026-11-23 00:00:00", "2026-11-23T00:00:00Z"},
                      TimeCase{"end_of_year", "2026-12-31 23:59:59", "2026-12-31T23:59:59Z"},
                      TimeCase{"empty_field", "", nullptr},
                      TimeCase{"display_value_format", "01/03/2025 14:00:00", nullptr},
                      TimeCase{"display_value_12h", "2025-03-01 02:00:00 PM", nullptr},
                      TimeCase{"rfc3339_is_not_raw", "2025-03-01T14:00:00Z", nullptr},
                      TimeCase{"date_only", "2025-03-01", nullptr},
                      TimeCase{"month_13", "2025-13-01 14:00:00", nullptr},
                      TimeCase{"hour_25", "2025-03-01 25:00:00", nullptr}),
    [](const auto& p) { return std::string(p.param.name); });

struct RefCase {
  const char* name;
  const char* json;
  const char* want;
};

class SnRefTest : public ::testing::TestWithParam<RefCase> {};

TEST_P(SnRefTest, ReadsTheSysIdFromEveryShape) {
  EXPECT_EQ(refValue(json::parse(GetParam().json)), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    References, SnRefTest,
    ::testing::Values(
        RefCase{"exclude_reference_link", R"("5137153cc611227c000bbd1bd8cd2005")",
                "5137153cc611227c000bbd1bd8cd2005"},
        RefCase{"default_link_value",
                R"({"link":"https://x.service-now.com/api/now/table/sys_user/5137153cc611227c000bbd1bd8cd2005","value":"5137153cc611227c000bbd1bd8cd2005"})",
                "5137153cc611227c000bbd1bd8cd2005"},
        RefCase{"display_value_all",
                R"({"display_value":"Alice Admin","link":"https://x/api/now/table/sys_user/681ccaf9c0a8016400b98a06818d57c7","value":"681ccaf9c0a8016400b98a06818d57c7"})",
                "681ccaf9c0a8016400b98a06818d57c7"},
        RefCase{"empty_reference", R"("")", ""},
        RefCase{"display_only_is_not_an_id", R"({"display_value":"Alice Admin"})", ""},
        RefCase{"number_is_not_a_reference", "42", ""}),
    [](const auto& p) { return std::string(p.param.name); });

struct StateCase {
  const char* name;
  int table;  // 0 change_request, 1 sc_req_item
  const char* state;
  const char* approval;
  const char* on_hold;
  const char* want;
};

class SnStateTest : public ::testing::TestWithParam<StateCase> {};

TEST_P(SnStateTest, MapsStateApprovalAndHold) {
  const auto tables = defaultTables();
  const auto& p = GetParam();
  EXPECT_EQ(mapState(tables[p.table], p.state, p.approval, p.on_hold), p.want);
}

INSTANTIATE_TEST_SUITE_P(
    States, SnStateTest,
    ::testing::Values(
        StateCase{"implement_approved", 0, "-1", "approved", "false", "approved"},
        StateCase{"scheduled_approved", 0, "-2", "approved", "", "approved"},
        StateCase{"new", 0, "-5", "not requested", "false", "pending"},
        StateCase{"assess_requested", 0, "-4", "requested", "false", "pending"},
        StateCase{"authorize_requested", 0, "-3", "requested", "false", "pending"},
        StateCase{"implement_but_requested", 0, "-1", "requested", "false", "pending"},
        StateCase{"implement_not_requested", 0, "-1", "not requested", "false", "pending"},
        StateCase{"review_is_over", 0, "0", "approved", "false", "pending"},
        StateCase{"on_hold", 0, "-1", "approved", "true", "pending"},
        StateCase{"rejected", 0, "-3", "rejected", "false", "rejected"},
        StateCase{"closed", 0, "3", "approved", "false", "closed"},
        StateCase{"canceled", 0, "4", "approved", "false", "canceled"},
        StateCase{"ritm_open_approved", 1, "1", "approved", "", "approved"},
        StateCase{"ritm_wip_approved", 1, "2", "approved", "", "approved"},
        StateCase{"ritm_pending", 1, "-5", "requested", "", "pending"},
        StateCase{"ritm_closed_complete", 1, "3", "approved", "", "closed"},
        StateCase{"ritm_closed_incomplete", 1, "4", "approved", "", "canceled"},
        StateCase{"ritm_closed_skipped", 1, "7", "approved", "", "canceled"}),
    [](const auto& p) { return std::string(p.param.name); });

constexpr const char* kAlice = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr const char* kBob = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

json::object change(const char* approval = "approved", const char* state = "-1") {
  return json::parse(std::string(R"({"sys_id":"c0ffee00c0ffee00c0ffee00c0ffee00","number":"CHG0030001",)") +
                     "\"state\":\"" + state + "\",\"approval\":\"" + approval + "\"," +
                     R"("type":"emergency","on_hold":"false",
                         "start_date":"2026-11-23 18:00:00","end_date":"2026-11-23 20:00:00",
                         "requested_by":{"link":"https://x/api/now/table/sys_user/a","value":")" + kAlice + R"("},
                         "assignment_group":"99999999999999999999999999999999",
                         "u_jit_subjects":"repo:acme/api:environment:prod, repo:acme/web:ref:refs/heads/main\n",
                         "u_jit_access":"deploy",
                         "sys_updated_on":"2026-11-23 17:55:02"})")
      .as_object();
}

std::string person(const std::string& id) {
  if (id == kAlice) return "alice@example.com";
  if (id == kBob) return "bob@example.com";
  return id;
}

TEST(SnTicket, MapsAChangeWithItsApprovalRows) {
  auto m = defaultTables()[0];
  std::vector<ApprovalRow> rows = {{kBob, "approved", parseTime("2026-11-23 17:58:00")},
                                   {"cccccccccccccccccccccccccccccccc", "requested", std::nullopt},
                                   {"dddddddddddddddddddddddddddddddd", "rejected", std::nullopt}};
  auto t = toTicket(m, change(), rows, person);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->id, "CHG0030001");
  EXPECT_EQ(t->state, "approved");
  EXPECT_EQ(t->kind, "emergency");
  EXPECT_EQ(t->requested_by, "alice@example.com");
  EXPECT_EQ(t->approved_by, std::vector<std::string>{"bob@example.com"});
  EXPECT_EQ(t->approved_by_ids, std::vector<std::string>{kBob});
  EXPECT_EQ(t->requested_by_id, kAlice);
  EXPECT_EQ(t->subjects, (std::vector<std::string>{"repo:acme/api:environment:prod",
                                                   "repo:acme/web:ref:refs/heads/main"}));
  EXPECT_EQ(t->access, std::vector<std::string>{"deploy"});
  EXPECT_EQ(core::formatRfc3339(t->window_start), "2026-11-23T18:00:00Z");
  EXPECT_EQ(core::formatRfc3339(t->window_end), "2026-11-23T20:00:00Z");
  // The approval row changed after the record: the ticket's version follows it.
  EXPECT_EQ(core::formatRfc3339(t->updated_at), "2026-11-23T17:58:00Z");
  EXPECT_EQ(t->source_system, "servicenow");
  EXPECT_EQ(t->source_table, "change_request");
  EXPECT_EQ(t->source_record_id, "c0ffee00c0ffee00c0ffee00c0ffee00");
}

TEST(SnTicket, SelfApprovalRowNamesTheRequesterAsApprover) {
  auto t = toTicket(defaultTables()[0], change(), {{kAlice, "approved", std::nullopt}}, person);
  ASSERT_TRUE(t.ok());
  // The policy's separation of duties then refuses it (tested in policies/ and integration).
  EXPECT_EQ(t->approved_by, std::vector<std::string>{"alice@example.com"});
  EXPECT_EQ(t->requested_by, "alice@example.com");
}

TEST(SnTicket, CarriesTheSysIdsOfRequesterAndApprovers) {
  // Names come from sys_user and may be missing (ACLs) or change; the sys_ids do not.
  auto t = toTicket(defaultTables()[0], change(),
                    {{kBob, "approved", std::nullopt},
                     {kAlice, "approved", std::nullopt},
                     {kBob, "approved", std::nullopt},  // a second row for bob: one approval
                     {"cccccccccccccccccccccccccccccccc", "requested", std::nullopt}},
                    [](const std::string& id) {
                      return id == kBob ? std::string("bob@example.com") : id;
                    });
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->requested_by, kAlice);  // no name known: the sys_id stands in
  EXPECT_EQ(t->requested_by_id, kAlice);
  EXPECT_EQ(t->approved_by, (std::vector<std::string>{"bob@example.com", kAlice}));
  EXPECT_EQ(t->approved_by_ids, (std::vector<std::string>{kBob, kAlice}));
  // Stored and read back with them.
  auto back = ticketFromJson(ticketToJson(*t));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->approved_by_ids, t->approved_by_ids);
  EXPECT_EQ(back->requested_by_id, kAlice);
}

TEST(SnTicket, AnApproverWhoseNameHidesAFormatCharacterMakesTheRecordUnreadable) {
  auto t = toTicket(defaultTables()[0], change(), {{kBob, "approved", std::nullopt}},
                    [](const std::string& id) {
                      return id == kBob ? std::string("bob@example.com\u200b") : id;
                    });
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("'approved_by[0]'"), std::string::npos)
      << t.status().message();
}

TEST(SnTicket, AssignmentGroupMappingAddsSubjectsAndAccess) {
  auto m = defaultTables()[0];
  m.by_group["99999999999999999999999999999999"] = {{"system:serviceaccount:prod:deployer"}, {"deploy", "read"}};
  auto t = toTicket(m, change(), {}, person);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->subjects.back(), "system:serviceaccount:prod:deployer");
  EXPECT_EQ(t->access, (std::vector<std::string>{"deploy", "read"}));
}

TEST(SnTicket, NoPlannedWindowIsNeverApproved) {
  json::object rec = change();
  rec["end_date"] = "";
  auto t = toTicket(defaultTables()[0], rec, {}, person);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->state, "pending");
  // A display-value date (the caller's timezone) is refused, not guessed.
  rec = change();
  rec["start_date"] = "23-11-2026 19:00:00";
  t = toTicket(defaultTables()[0], rec, {}, person);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->state, "pending");
}

TEST(SnTicket, StandingRequestItemHasAWindowFromItsStart) {
  auto m = defaultTables()[1];
  json::object rec = json::parse(R"({"sys_id":"0123456789abcdef0123456789abcdef","number":"RITM0010001",
      "state":"2","approval":"approved","opened_at":"2026-11-01 09:00:00","u_jit_window_end":"",
      "requested_for":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","u_jit_subjects":"spiffe://acme/svc",
      "u_jit_access":"service-cert","sys_updated_on":"2026-11-01 09:05:00"})").as_object();
  auto t = toTicket(m, rec, {{kBob, "approved", std::nullopt}}, person);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->state, "approved");
  EXPECT_EQ(t->kind, "standard");
  EXPECT_EQ(t->requested_by, "alice@example.com");
  EXPECT_EQ(t->window_end - t->window_start, m.standing_window);
}

TEST(SnTicket, RefusesARecordOfAnotherTableOrWithoutVersion) {
  json::object rec = change();
  rec["number"] = "INC0010001";
  EXPECT_FALSE(toTicket(defaultTables()[0], rec, {}, person).ok());
  rec = change();
  rec["sys_updated_on"] = "";
  EXPECT_FALSE(toTicket(defaultTables()[0], rec, {}, person).ok());
}

TEST(SnTicket, SplitsListsAndDropsDuplicates) {
  EXPECT_EQ(splitList(" a,b\r\n,,a, c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(splitList("").empty());
}

}  // namespace
}  // namespace jitb::tickets::servicenow
