// tickets.servicenow and tickets.jira (docs/itsm.md).
#include <gtest/gtest.h>

#include "broker/server/config.h"

namespace jitb::server {
namespace {

core::StatusOr<Config> parse(const std::string& yaml) {
  return parseConfig(yaml, "broker.yaml", "/etc/jitbroker");
}

std::string errorOf(const std::string& yaml) {
  auto c = parse(yaml);
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : c.status().message();
}

TEST(ConfigItsm, ServiceNowWithTablesAndMappings) {
  auto c = parse(R"(
tickets:
  max_age: "90s"
  servicenow:
    base_url: "https://acme.service-now.com"
    auth: oauth_password
    user: "svc"
    password_file: "secrets/sn.pw"
    client_id: "abc"
    client_secret_file: "secrets/sn.client"
    poll_interval: "45s"
    requests_per_second: 2.5
    identity_field: user_name
    tables:
      change_request:
        subjects_field: u_callers
        usable_states: ["-1"]
        by_assignment_group:
          0123456789abcdef0123456789abcdef: { subjects: ["system:serviceaccount:prod:deployer"], access: [deploy] }
      sc_req_item: {}
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->servicenow);
  const auto& sn = *c->servicenow;
  EXPECT_EQ(c->ticket_max_age, std::chrono::seconds(90));
  EXPECT_EQ(sn.poll_interval, std::chrono::seconds(45));
  EXPECT_EQ(sn.password_file, "/etc/jitbroker/secrets/sn.pw");
  EXPECT_DOUBLE_EQ(sn.http.requests_per_second, 2.5);
  EXPECT_EQ(sn.settings.identity_field, "user_name");
  ASSERT_EQ(sn.settings.tables.size(), 2u);
  const auto& chg = sn.settings.tables[0];
  EXPECT_EQ(chg.table, "change_request");
  EXPECT_EQ(chg.prefix, "CHG");  // built-in defaults kept where not overridden
  EXPECT_EQ(chg.subjects_field, "u_callers");
  EXPECT_EQ(chg.usable_states, std::vector<std::string>{"-1"});
  EXPECT_EQ(chg.by_group.at("0123456789abcdef0123456789abcdef").access, std::vector<std::string>{"deploy"});
  EXPECT_TRUE(sn.settings.tables[1].standing);
  Config d = *c;
  d.data_dir = "/d";
  applyDefaults(d, 1);
  EXPECT_EQ(d.servicenow->notify_secret_file, "/d/servicenow.secret");
}

TEST(ConfigItsm, ServiceNowErrorsNameTheKey) {
  EXPECT_EQ(errorOf("tickets:\n  servicenow:\n    base_url: http://x\n    user: u\n    password_file: p\n"),
            "broker.yaml:3: 'tickets.servicenow.base_url' must be an https:// URL");
  EXPECT_EQ(errorOf("tickets:\n  servicenow:\n    base_url: https://x\n    auth: digest\n"),
            "broker.yaml:4: 'tickets.servicenow.auth' must be basic, oauth_password or oauth_client_credentials");
  EXPECT_NE(errorOf("tickets:\n  servicenow:\n    base_url: https://x\n").find("needs user and password_file"),
            std::string::npos);
  EXPECT_NE(errorOf("tickets:\n  servicenow:\n    base_url: https://x\n    user: u\n    password_file: p\n"
                    "    tables:\n      incident: {}\n")
                .find("not a built-in table"),
            std::string::npos);
  EXPECT_EQ(errorOf("tickets:\n  servicenow:\n    base_url: https://x\n    pasword_file: p\n"),
            "broker.yaml:4: unknown key 'pasword_file' in 'tickets.servicenow' (did you mean 'password_file'?)");
}

TEST(ConfigItsm, JiraNeedsProjectsAndFields) {
  auto c = parse(R"(
tickets:
  jira:
    base_url: "https://acme.atlassian.net"
    user: "bot@acme.example"
    token_file: "jira.token"
    project_keys: [OPS, CHG]
    status_map: { "10500": rejected }
    kind_map: { "10200": emergency }
    fields: { subjects: customfield_1, access: customfield_2, window_start: customfield_3, window_end: customfield_4 }
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->jira);
  EXPECT_EQ(c->jira->settings.mapping.project_keys, (std::vector<std::string>{"OPS", "CHG"}));
  EXPECT_EQ(c->jira->settings.mapping.status_map.at("10500"), "rejected");
  EXPECT_EQ(c->jira->token_file, "/etc/jitbroker/jira.token");
  EXPECT_NE(errorOf("tickets:\n  jira:\n    base_url: https://x\n    user: u\n    token_file: t\n"
                    "    project_keys: [OPS]\n")
                .find("'tickets.jira.fields' must name"),
            std::string::npos);
  EXPECT_NE(errorOf("tickets:\n  jira:\n    base_url: https://x\n    user: u\n    token_file: t\n"
                    "    project_keys: [OPS]\n    status_map: { \"1\": open }\n")
                .find("must be pending, approved, rejected, closed or canceled"),
            std::string::npos);
}

}  // namespace
}  // namespace jitb::server
