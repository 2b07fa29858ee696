#include <gtest/gtest.h>

#include "policies/engine/policy.h"

namespace jitb::policies {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// The example at the top of docs/policies.md (comments shortened).
constexpr const char* kContractExample = R"(grants:
  - name: deploy
    subjects:                      # every condition must hold for the caller's verified JWT
      issuer: "https://token.actions.githubusercontent.com"
      claims: { repository: "acme/*", ref: "refs/heads/main" }   # glob match
    tickets:
      kinds: [standard, normal]
      min_approvals: 1
      separation_of_duties: true   # no approver may be the requester or a subject
    token:
      audience: "deploy-api"
      scopes: ["deploy:read", "deploy:write"]
      max_ttl: "15m"
    certificate:
      profile: client              # client | server | spiffe
      uri_sans: ["spiffe://acme.internal/ci/{claims.repository}"]
      dns_sans: []
      max_ttl: "1h"
)";

TEST(PolicyParse, ContractExample) {
  auto p = PolicySet::parseFile(kContractExample, "contract.yaml");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  ASSERT_EQ(p.value().size(), 1u);
  const Grant* g = p.value().find("deploy");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->file, "contract.yaml");
  EXPECT_EQ(g->line, 2);
  EXPECT_EQ(g->issuers, std::vector<std::string>{"https://token.actions.githubusercontent.com"});
  ASSERT_EQ(g->claim_globs.size(), 2u);
  EXPECT_EQ(g->claim_globs[0], (std::pair<std::string, std::string>{"repository", "acme/*"}));
  EXPECT_EQ(g->claim_globs[1], (std::pair<std::string, std::string>{"ref", "refs/heads/main"}));
  EXPECT_EQ(g->kinds, (std::vector<std::string>{"standard", "normal"}));
  EXPECT_EQ(g->min_approvals, 1);
  EXPECT_TRUE(g->separation_of_duties);
  EXPECT_FALSE(g->break_glass);
  ASSERT_TRUE(g->token.has_value());
  EXPECT_EQ(g->token->audience, "deploy-api");
  EXPECT_EQ(g->token->scopes, (std::vector<std::string>{"deploy:read", "deploy:write"}));
  EXPECT_EQ(g->token->max_ttl, minutes(15));
  ASSERT_TRUE(g->certificate.has_value());
  EXPECT_EQ(g->certificate->profile, CertProfile::kClient);
  ASSERT_EQ(g->certificate->uri_sans.size(), 1u);
  EXPECT_EQ(g->certificate->uri_sans[0].text(), "spiffe://acme.internal/ci/{claims.repository}");
  EXPECT_TRUE(g->certificate->dns_sans.empty());
  EXPECT_EQ(g->certificate->max_ttl, hours(1));
  EXPECT_EQ(p.value().find("nope"), nullptr);
}

TEST(PolicyParse, Defaults) {
  auto p = PolicySet::parseFile(R"(grants:
  - name: a
    token: {audience: x}
    certificate: {profile: client}
  - name: bg
    break_glass: true
    token: {audience: y}
)",
                                "d.yaml");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  const Grant& a = p.value().grants()[0];
  EXPECT_EQ(a.kinds, (std::vector<std::string>{"standard", "normal"}));
  EXPECT_EQ(a.min_approvals, 1);
  EXPECT_TRUE(a.separation_of_duties);
  EXPECT_TRUE(a.issuers.empty());
  EXPECT_TRUE(a.token->scopes.empty());
  EXPECT_EQ(a.token->max_ttl, minutes(15));
  EXPECT_EQ(a.certificate->max_ttl, hours(1));
  const Grant& bg = p.value().grants()[1];
  EXPECT_EQ(bg.kinds, (std::vector<std::string>{"emergency"}));
  EXPECT_FALSE(bg.certificate.has_value());
}

TEST(PolicyParse, BreakGlassAlwaysAcceptsEmergencyPlusListedKinds) {
  auto p = PolicySet::parseFile(R"(grants:
  - name: bg
    break_glass: true
    tickets: {kinds: [normal]}
    token: {audience: y, max_ttl: 30m}
)",
                                "bg.yaml");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_EQ(p.value().grants()[0].kinds, (std::vector<std::string>{"normal", "emergency"}));
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  int line;
  const char* key;
  const char* message;  // substring
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }


// A grant that parses; the error cases below each break one thing about it.
#define GRANT_HEAD "grants:\n  - name: g\n"

const ErrorCase kErrorCases[] = {
    {"unknown key in token", GRANT_HEAD "    token:\n      audience: x\n      scope: [a]\n", 5,
     "grants[0].token.scope", "unknown key 'scope' in 'grants[0].token'"},
    {"unknown key at top level", "grant:\n  - name: g\n", 1, "grant", "unknown key 'grant'"},
    {"typo suggests the key", GRANT_HEAD "    token:\n      audiense: x\n", 4,
     "grants[0].token.audiense",
     "unknown key 'audiense' in 'grants[0].token' (did you mean 'audience'?)"},
    {"typo in a grant suggests the key", GRANT_HEAD "    certifcate: {profile: client}\n", 3,
     "grants[0].certifcate", "(did you mean 'certificate'?)"},
    {"unknown key in grant", GRANT_HEAD "    tokens: {audience: x}\n", 3, "grants[0].tokens",
     "unknown key 'tokens' in 'grants[0]'"},
    {"unknown key in subjects", GRANT_HEAD "    subjects: {iss: x}\n    token: {audience: x}\n", 3,
     "grants[0].subjects.iss", "unknown key 'iss' in 'grants[0].subjects'"},
    {"duplicate key", GRANT_HEAD "    token: {audience: x}\n    token: {audience: y}\n", 4,
     "grants[0].token", "duplicate key 'token'"},
    {"min_approvals not an integer",
     GRANT_HEAD "    tickets:\n      min_approvals: two\n    token: {audience: x}\n", 4,
     "grants[0].tickets.min_approvals", "must be an integer"},
    {"min_approvals quoted",
     GRANT_HEAD "    tickets:\n      min_approvals: \"1\"\n    token: {audience: x}\n", 4,
     "grants[0].tickets.min_approvals", "must be an integer"},
    {"min_approvals too large",
     GRANT_HEAD "    tickets:\n      min_approvals: 1000\n    token: {audience: x}\n", 4,
     "grants[0].tickets.min_approvals", "between 0 and 100"},
    {"min_approvals 0 without break_glass",
     GRANT_HEAD "    tickets:\n      min_approvals: 0\n    token: {audience: x}\n", 4,
     "grants[0].tickets.min_approvals", "only on a grant with 'break_glass: true'"},
    {"separation_of_duties yes",
     GRANT_HEAD "    tickets:\n      separation_of_duties: yes\n    token: {audience: x}\n", 4,
     "grants[0].tickets.separation_of_duties", "must be true or false"},
    {"scopes not a list", GRANT_HEAD "    token:\n      audience: x\n      scopes: deploy\n", 5,
     "grants[0].token.scopes", "must be a list of strings"},
    {"scope with a space", GRANT_HEAD "    token:\n      audience: x\n      scopes: [\"a b\"]\n", 5,
     "grants[0].token.scopes[0]", "without spaces"},
    {"audience a list", GRANT_HEAD "    token:\n      audience: [x]\n", 4,
     "grants[0].token.audience", "must be a string"},
    {"audience missing", GRANT_HEAD "    token:\n      scopes: [a]\n", 4,
     "grants[0].token.audience", "needs an 'audience'"},
    {"bare number duration", GRANT_HEAD "    token:\n      audience: x\n      max_ttl: 15\n", 5,
     "grants[0].token.max_ttl", "must be a duration such as 30s, 15m or 1h"},
    {"unknown unit duration", GRANT_HEAD "    token:\n      audience: x\n      max_ttl: 15x\n", 5,
     "grants[0].token.max_ttl", "must be a duration"},
    {"zero duration", GRANT_HEAD "    token:\n      audience: x\n      max_ttl: 0s\n", 5,
     "grants[0].token.max_ttl", "at least 1s"},
    {"sub-second duration", GRANT_HEAD "    token:\n      audience: x\n      max_ttl: 1500ms\n", 5,
     "grants[0].token.max_ttl", "whole number of seconds"},
    {"emergency without break_glass",
     GRANT_HEAD "    tickets:\n      kinds: [normal, emergency]\n    token: {audience: x}\n", 4,
     "grants[0].tickets.kinds[1]", "only accepted by a grant with 'break_glass: true'"},
    {"unknown kind", GRANT_HEAD "    tickets:\n      kinds: [urgent]\n    token: {audience: x}\n",
     4, "grants[0].tickets.kinds[0]", "must be standard, normal or emergency"},
    {"empty kinds", GRANT_HEAD "    tickets:\n      kinds: []\n    token: {audience: x}\n", 4,
     "grants[0].tickets.kinds", "at least one kind"},
    {"break_glass token max_ttl 2h",
     GRANT_HEAD "    break_glass: true\n    token:\n      audience: x\n      max_ttl: 2h\n", 6,
     "grants[0].token.max_ttl", "at most 1h on a grant with 'break_glass: true'"},
    {"break_glass certificate max_ttl 2h",
     GRANT_HEAD
     "    break_glass: true\n    certificate:\n      profile: client\n      max_ttl: 2h\n",
     6, "grants[0].certificate.max_ttl", "at most 1h"},
    {"break_glass not a bool", GRANT_HEAD "    break_glass: 1\n    token: {audience: x}\n", 3,
     "grants[0].break_glass", "must be true or false"},
    {"bad grant name", "grants:\n  - name: Deploy\n    token: {audience: x}\n", 2, "grants[0].name",
     "must be 1-64 of a-z"},
    {"missing grant name", "grants:\n  - token: {audience: x}\n", 2, "grants[0].name",
     "needs a 'name'"},
    {"no credential section", GRANT_HEAD "    tickets: {min_approvals: 2}\n", 2, "grants[0]",
     "needs a 'token', 'certificate', 'ssh' or 'database' section"},
    {"bad profile", GRANT_HEAD "    certificate:\n      profile: mtls\n", 4,
     "grants[0].certificate.profile", "must be client, server or spiffe"},
    {"unknown placeholder",
     GRANT_HEAD
     "    certificate:\n      profile: client\n      uri_sans: [\"spiffe://a/{claim.x}\"]\n",
     5, "grants[0].certificate.uri_sans[0]", "unknown placeholder '{claim.x}'"},
    {"dns san uppercase",
     GRANT_HEAD "    certificate:\n      profile: server\n      dns_sans: [\"API.example\"]\n", 5,
     "grants[0].certificate.dns_sans[0]", "not allowed"},
    {"dns san empty label",
     GRANT_HEAD "    certificate:\n      profile: server\n      dns_sans: [\"a..example\"]\n", 5,
     "grants[0].certificate.dns_sans[0]", "not a valid lowercase DNS name"},
    {"spiffe with two URIs",
     GRANT_HEAD "    certificate:\n      profile: spiffe\n      uri_sans: [\"spiffe://a/x\", "
                "\"spiffe://a/y\"]\n",
     5, "grants[0].certificate.uri_sans", "exactly one spiffe:// URI"},
    {"spiffe with an https URI",
     GRANT_HEAD "    certificate:\n      profile: spiffe\n      uri_sans: [\"https://a/x\"]\n", 5,
     "grants[0].certificate.uri_sans[0]", "must be a SPIFFE ID"},
    {"server without SANs", GRANT_HEAD "    certificate:\n      profile: server\n", 4,
     "grants[0].certificate.dns_sans", "needs at least one of dns_sans or uri_sans"},
    {"claims not a mapping",
     GRANT_HEAD "    subjects:\n      claims: [a]\n    token: {audience: x}\n", 4,
     "grants[0].subjects.claims", "must be a mapping"},
    {"claim glob not a string",
     GRANT_HEAD "    subjects:\n      claims: {repo: [a]}\n    token: {audience: x}\n", 4,
     "grants[0].subjects.claims.repo", "must be a glob string"},
    {"issuer null", GRANT_HEAD "    subjects:\n      issuer:\n    token: {audience: x}\n", 4,
     "grants[0].subjects.issuer", "must be a string"},
    {"issuer empty", GRANT_HEAD "    subjects:\n      issuer: \"\"\n    token: {audience: x}\n", 4,
     "grants[0].subjects.issuer", "must not be empty"},
    {"issuer list empty", GRANT_HEAD "    subjects:\n      issuer: []\n    token: {audience: x}\n", 4,
     "grants[0].subjects.issuer", "must not be empty"},
    {"grants not a list", "grants: {name: g}\n", 1, "grants", "'grants' must be a list"},
    {"grant not a mapping", "grants:\n  - g\n", 2, "grants[0]", "must be a mapping"},
    {"duplicate grant in one file",
     "grants:\n  - name: g\n    token: {audience: x}\n  - name: g\n    token: {audience: y}\n", 4,
     "grants[1].name", "duplicate grant name 'g' (first defined at t.yaml:2)"},
    {"YAML syntax error", GRANT_HEAD "    token: {audience: x\n  - name: h\n", 4, "",
     "YAML syntax error"},
    {"bad indentation", "grants:\n  - name: g\n   token: {audience: x}\n", 3, "",
     "YAML syntax error"},
    {"empty file", "", 1, "grants", "the policy file is empty"},
    {"two documents", "grants: []\n---\ngrants: []\n", 2, "", "one YAML document"},
    {"no grants key", "{}\n", 1, "grants", "needs a 'grants' list"},
    {"file not a mapping", "- name: g\n", 1, "", "a policy file must be a mapping"},
    {"duplicate top-level key", "grants: []\ngrants: []\n", 2, "grants",
     "duplicate key 'grants' in '(top level)'"},
};

class PolicyParseError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(PolicyParseError, NamesFileLineAndKey) {
  const ErrorCase& c = GetParam();
  auto p = PolicySet::parseFile(c.yaml, "t.yaml");
  ASSERT_FALSE(p.ok()) << "accepted:\n" << c.yaml;
  const PolicyError& e = p.error();
  EXPECT_EQ(e.file, "t.yaml");
  EXPECT_EQ(e.line, c.line) << e.toString();
  EXPECT_EQ(e.key, c.key) << e.toString();
  EXPECT_NE(e.message.find(c.message), std::string::npos) << e.toString();
  EXPECT_EQ(e.toString(), "t.yaml:" + std::to_string(c.line) + ": " + e.message);
}

INSTANTIATE_TEST_SUITE_P(All, PolicyParseError, ::testing::ValuesIn(kErrorCases),
                         [](const auto& p) {
                           std::string n = p.param.name;
                           for (char& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(PolicyParse, UnknownKeyMessageIsExact) {
  auto p =
      PolicySet::parseFile(GRANT_HEAD "    token:\n      audience: x\n      ttl: 1h\n", "p.yaml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().toString(), "p.yaml:5: unknown key 'ttl' in 'grants[0].token'");
}

TEST(PolicyParse, EmptyGrantListIsValid) {
  auto p = PolicySet::parseFile("grants: []\n", "e.yaml");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_EQ(p.value().size(), 0u);
}

TEST(PolicyParse, HostileInputNeverThrows) {
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  for (const std::string& text :
       {deep, std::string("grants: *a\n"), std::string("\t\tgrants"),
        std::string("grants:\n  - &a [*a]\n"),
        std::string("grants:\n  - name: g\n    token: {audience: x, <<: {y: 1}}\n"),
        std::string(1 << 21, 'a'),
        // yaml-cpp's LoadAll reports endless empty documents for this (found by fuzzing).
        std::string("!grans: []\n      dns_sans: []\n    ,  max_ttl: \"2h`jit.acm")}) {
    auto p = PolicySet::parseFile(text, "h.yaml");
    EXPECT_FALSE(p.ok());
  }
}

}  // namespace
}  // namespace jitb::policies

namespace jitb::policies {
namespace {

TEST(PolicyParse, IssuerListAndBinding) {
  auto p = PolicySet::parseFile(R"(grants:
  - name: one
    subjects: {issuer: "https://a.example"}
    token: {audience: x}
  - name: two
    subjects:
      issuer: ["https://a.example", "https://b.example"]
    token: {audience: x}
  - name: any
    token: {audience: x}
)",
                                "i.yaml");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_EQ(p.value().find("one")->issuers, std::vector<std::string>{"https://a.example"});
  EXPECT_EQ(p.value().find("two")->issuers,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  // With several trusted issuers the grant that names none is refused where it is defined.
  auto unbound = p.value().requireIssuers();
  ASSERT_TRUE(unbound.has_value());
  EXPECT_EQ(unbound->toString().substr(0, 9), "i.yaml:9:");
  EXPECT_NE(unbound->message.find("grant 'any' must name its issuer"), std::string::npos);
}

}  // namespace
}  // namespace jitb::policies
