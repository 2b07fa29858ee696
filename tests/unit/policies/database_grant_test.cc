// The `database:` section of a grant: parsed into DatabaseRule, judged like the other kinds.
#include <gtest/gtest.h>

#include "policies/engine/policy.h"

namespace jitb::policies {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr const char* kPolicies = R"(grants:
  - name: dba
    database: { name: orders, roles: [orders_ro, orders_rw], max_ttl: "30m" }
  - name: tokens-only
    token: { audience: "api" }
)";

const TimePoint kNow = Clock::from_time_t(1'795'456'800);

TEST(DatabaseGrant, ParsesNameRolesAndTtl) {
  auto p = PolicySet::parseFile(kPolicies, "db.yaml");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  const Grant* g = p.value().find("dba");
  ASSERT_TRUE(g && g->database);
  EXPECT_EQ(g->database->name, "orders");
  EXPECT_EQ(g->database->roles, (std::vector<std::string>{"orders_ro", "orders_rw"}));
  EXPECT_EQ(g->database->max_ttl, minutes(30));
  EXPECT_FALSE(g->token);
}

TEST(DatabaseGrant, RefusesASectionWithoutNameOrRolesOrWithUnknownKeys) {
  for (const char* bad : {"grants:\n  - name: x\n    database: { roles: [r] }\n",
                          "grants:\n  - name: x\n    database: { name: d }\n",
                          "grants:\n  - name: x\n    database: { name: d, roles: [] }\n",
                          "grants:\n  - name: x\n    database: { name: d, roles: [r], sql: x }\n"}) {
    auto p = PolicySet::parseFile(bad, "bad.yaml");
    EXPECT_FALSE(p.ok()) << bad;
  }
}

TEST(DatabaseGrant, AllowsOnlyUnderAGrantWithTheSectionAndCapsTheTtl) {
  auto p = PolicySet::parseFile(kPolicies, "db.yaml");
  ASSERT_TRUE(p.ok());
  CallerFacts caller{"https://issuer.example", "alice", {{"sub", "alice"}}};
  TicketFacts t;
  t.id = "CHG1";
  t.state = "approved";
  t.kind = "normal";
  t.requested_by = "bob";
  t.approved_by = {"carol"};
  t.subjects = {"alice"};
  t.access = {"dba", "tokens-only"};
  t.window_start = kNow - hours(1);
  t.window_end = kNow + hours(1);
  IssueRequest req;
  req.kind = CredentialKind::kDatabase;
  Decision d = evaluate(p.value(), caller, t, req, kNow);
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.grant, "dba");
  EXPECT_EQ(d.database, "orders");
  EXPECT_EQ(d.database_roles, (std::vector<std::string>{"orders_ro", "orders_rw"}));
  EXPECT_EQ(d.ttl, minutes(30));
  req.grant = "tokens-only";
  d = evaluate(p.value(), caller, t, req, kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.failed_rule, "credential.kind");
  EXPECT_TRUE(d.database.empty());  // a denial carries no profile to issue from
}

}  // namespace
}  // namespace jitb::policies
