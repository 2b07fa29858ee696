#include "broker/server/config.h"

#include <gtest/gtest.h>

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

TEST(Config, ParsesTheContractExample) {
  auto c = parse(R"(
listen: "127.0.0.1:9443"
public_url: "https://broker.example:9443"
data_dir: "./var"
policies_dir: "./policies/default"
store: { sqlite: "./var/broker.db" }
trust:
  - issuer: "https://token.actions.githubusercontent.com"
    jwks_file: "./trust/github.jwks.json"
    audience: "jitbroker"
tickets:
  webhook: { secret_file: "./var/webhook.secret" }
  servicenow: { base_url: "https://acme.service-now.com", user: "svc", password_file: "sn.pw", poll_interval: "45s" }
limits:
  max_active_leases_per_subject: 50
  max_body_bytes: 65536
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 9443);
  EXPECT_EQ(c->public_url, "https://broker.example:9443");
  EXPECT_EQ(c->data_dir, "/etc/jitbroker/var");  // relative to the config's folder
  EXPECT_EQ(c->sqlite_path, "/etc/jitbroker/var/broker.db");
  ASSERT_EQ(c->trust.size(), 1u);
  EXPECT_EQ(c->trust[0].jwks_file, "/etc/jitbroker/trust/github.jwks.json");
  EXPECT_EQ(c->trust[0].audience, "jitbroker");
  ASSERT_TRUE(c->servicenow);
  EXPECT_EQ(c->servicenow->poll_interval, std::chrono::seconds(45));
  EXPECT_EQ(c->limits.max_active_leases_per_subject, 50);
  EXPECT_EQ(c->limits.max_body_bytes, 65536);
  EXPECT_EQ(c->limits.max_active_leases_per_ticket, 10000);  // default kept
}

TEST(Config, TypoNamesFileLineAndKeyWithSuggestion) {
  std::string e = errorOf("listen: \"127.0.0.1:0\"\ndata_dir: ./var\npolices_dir: ./p\n");
  EXPECT_EQ(e, "broker.yaml:3: unknown key 'polices_dir' (did you mean 'policies_dir'?)");
}

TEST(Config, NestedUnknownKeyNamesItsSection) {
  std::string e = errorOf("limits:\n  max_body_bytes: 1024\n  max_bogus: 1\n");
  EXPECT_EQ(e, "broker.yaml:3: unknown key 'max_bogus' in 'limits'");
}

TEST(Config, AcmeHttp01PortDefaultsTo80AndTheAddressMustBeAnIp) {
  auto d = parse("listen: \"127.0.0.1:0\"\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->acme.http01_port, 80);
  EXPECT_EQ(d->acme.http01_address, "");
  auto c = parse("acme:\n  http01_port: 8080\n  http01_address: \"::1\"\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->acme.http01_port, 8080);
  EXPECT_EQ(c->acme.http01_address, "::1");
  EXPECT_EQ(errorOf("acme:\n  http01_address: example.com\n"),
            "broker.yaml:2: 'acme.http01_address' must be an IP address");
  EXPECT_NE(errorOf("acme:\n  http01_port: 0\n").find("acme.http01_port"), std::string::npos);
  EXPECT_NE(errorOf("acme:\n  http01_prot: 80\n").find("did you mean 'http01_port'"), std::string::npos);
}

TEST(Config, AcmeRejectNonceEveryIsOffByDefaultAndNeverOne) {
  auto d = parse("listen: \"127.0.0.1:0\"\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->acme.reject_nonce_every, 0);
  auto c = parse("acme:\n  reject_nonce_every: 2\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->acme.reject_nonce_every, 2);
  // 1 would refuse every nonce: no client could get through.
  EXPECT_EQ(errorOf("acme:\n  reject_nonce_every: 1\n"),
            "broker.yaml:2: 'acme.reject_nonce_every' must be 0 (off) or 2 or more");
  EXPECT_NE(errorOf("acme:\n  reject_nonce_every: -3\n").find("acme.reject_nonce_every"),
            std::string::npos);
}

TEST(Config, KeysTakeAKekFileAndAJwksMaxAgeInBounds) {
  auto d = parse("listen: \"127.0.0.1:9443\"\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->keys.kek_file, "");  // keys stay files in data_dir
  EXPECT_EQ(d->keys.jwks_max_age, std::chrono::minutes(5));
  auto c = parse("keys: { kek_file: \"kek\", jwks_max_age: \"30s\" }\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->keys.kek_file, "/etc/jitbroker/kek");  // relative to the config's folder
  EXPECT_EQ(c->keys.jwks_max_age, std::chrono::seconds(30));
  EXPECT_NE(errorOf("keys: { jwks_max_age: \"500ms\" }\n").find("between 1s and 24h"),
            std::string::npos);
  EXPECT_NE(errorOf("keys: { jwks_max_age: \"48h\" }\n").find("between 1s and 24h"),
            std::string::npos);
  EXPECT_NE(errorOf("keys: { kek: \"x\" }\n").find("keys"), std::string::npos);
}

TEST(Config, ConnectionLimitsPerAddressAndHandshake) {
  auto d = parse("listen: \"127.0.0.1:0\"\n");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->limits.max_connections_per_address, 256);
  EXPECT_EQ(d->limits.handshake_timeout, std::chrono::seconds(3));
  auto c = parse("limits:\n  max_connections_per_address: 8\n  handshake_timeout: 1s\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->limits.max_connections_per_address, 8);
  EXPECT_EQ(c->limits.handshake_timeout, std::chrono::seconds(1));
  EXPECT_EQ(errorOf("limits:\n  max_connections_per_address: 0\n"),
            "broker.yaml:2: 'limits.max_connections_per_address' must be between 1 and 1000000");
  EXPECT_EQ(errorOf("limits:\n  handshake_timeout: 0s\n"),
            "broker.yaml:2: 'limits.handshake_timeout' must be a duration such as 30s, 15m or 1h");
  EXPECT_EQ(errorOf("limits:\n  handshake_timout: 1s\n"),
            "broker.yaml:2: unknown key 'handshake_timout' in 'limits' (did you mean "
            "'handshake_timeout'?)");
}

TEST(Config, WrongTypesAreErrorsWithLines) {
  EXPECT_EQ(errorOf("limits:\n  max_body_bytes: lots\n"),
            "broker.yaml:2: 'limits.max_body_bytes' must be an integer");
  EXPECT_EQ(errorOf("listen: [a, b]\n"), "broker.yaml:1: 'listen' must be a string");
  EXPECT_EQ(errorOf("tickets:\n  servicenow:\n    base_url: https://x\n    poll_interval: 30\n"),
            "broker.yaml:4: 'tickets.servicenow.poll_interval' must be a duration such as 30s, "
            "15m or 1h");
  EXPECT_EQ(errorOf("store: sqlite\n"), "broker.yaml:1: 'store' must be a mapping");
}

TEST(Config, TrustEntriesNeedIssuerOneJwksSourceAndAudience) {
  EXPECT_NE(errorOf("trust:\n  - issuer: https://i\n    audience: a\n").find("exactly one of"),
            std::string::npos);
  EXPECT_NE(errorOf("trust:\n  - issuer: https://i\n    jwks_url: http://plain\n    audience: a\n")
                .find("https://"),
            std::string::npos);
  EXPECT_NE(errorOf("trust:\n  - issuer: https://i\n    jwks_file: f\n").find("audience"),
            std::string::npos);
}

TEST(Config, SyntaxErrorsAndEmptyFilesAreReported) {
  EXPECT_EQ(errorOf("listen: \"unterminated\n").rfind("broker.yaml:", 0), 0u);
  EXPECT_EQ(errorOf(""), "broker.yaml:1: the config is empty");
  EXPECT_EQ(errorOf("- a\n- b\n"), "broker.yaml:1: '' must be a mapping");
}

TEST(Config, ListenParsing) {
  std::string host;
  uint16_t port = 1;
  ASSERT_TRUE(parseListen("127.0.0.1:0", host, port).ok());
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(parseListen("[::1]:8443", host, port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(parseListen("127.0.0.1", host, port).ok());
  EXPECT_FALSE(parseListen("127.0.0.1:99999", host, port).ok());
  EXPECT_FALSE(parseListen(":80", host, port).ok());
}

TEST(Config, DefaultsDerivePublicUrlAndPaths) {
  Config c;
  c.data_dir = "/d";
  applyDefaults(c, 12345);
  EXPECT_EQ(c.public_url, "https://127.0.0.1:12345");
  EXPECT_EQ(c.sqlite_path, "/d/broker.db");
  EXPECT_EQ(c.webhook_secret_file, "/d/webhook.secret");
}

// tickets.servicenow and tickets.jira (docs/itsm.md).
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

TEST(ConfigItsm, LookupLimitsHaveDefaultsAndAreChecked) {
  auto d = parse("listen: \"127.0.0.1:0\"\n");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->lookup_threads, 8);
  EXPECT_EQ(d->limits.lookups_per_caller, 4);
  EXPECT_DOUBLE_EQ(d->limits.lookup_rate_per_caller, 2);
  EXPECT_EQ(d->ticket_negative_ttl, std::chrono::seconds(15));
  auto c = parse(R"(
tickets:
  lookup_threads: 4
  negative_ttl: "30s"
  servicenow:
    base_url: "https://acme.service-now.com"
    user: "svc"
    password_file: "sn.password"
    lookup_share: 0.25
limits:
  lookups_per_caller: 3
  lookup_rate_per_caller: 0.5
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->lookup_threads, 4);
  EXPECT_EQ(c->ticket_negative_ttl, std::chrono::seconds(30));
  EXPECT_EQ(c->limits.lookups_per_caller, 3);
  EXPECT_DOUBLE_EQ(c->limits.lookup_rate_per_caller, 0.5);
  EXPECT_DOUBLE_EQ(c->servicenow->http.lookup_share, 0.25);
  EXPECT_EQ(errorOf("tickets:\n  lookup_threads: 0\n"),
            "broker.yaml:2: 'tickets.lookup_threads' must be between 1 and 256");
  EXPECT_EQ(errorOf("limits:\n  lookups_per_caller: 0\n"),
            "broker.yaml:2: 'limits.lookups_per_caller' must be between 1 and 1024");
  EXPECT_NE(errorOf("tickets:\n  servicenow:\n    base_url: https://x\n    lookup_share: 2\n").find(
                "'tickets.servicenow.lookup_share' must be a number between 0 and 1"),
            std::string::npos);
  EXPECT_EQ(errorOf("tickets:\n  negative_tl: 10s\n"),
            "broker.yaml:2: unknown key 'negative_tl' in 'tickets' (did you mean 'negative_ttl'?)");
}

}  // namespace
}  // namespace jitb::server
