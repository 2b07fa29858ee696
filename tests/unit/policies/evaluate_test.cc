#include <gtest/gtest.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <functional>

#include "policies/engine/policy.h"

namespace jitb::policies {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kPolicies = R"(grants:
  - name: deploy
    subjects:
      issuer: "https://issuer.example"
      claims: { repository: "acme/*", ref: "refs/heads/main" }
    tickets:
      kinds: [standard, normal]
      min_approvals: 1
    token:
      audience: "deploy-api"
      scopes: ["deploy:read", "deploy:write"]
      max_ttl: "15m"
    certificate:
      profile: client
      uri_sans: ["spiffe://acme.internal/ci/{claims.repository}"]
      dns_sans: ["{claims.env}.deploy.acme.internal"]
      max_ttl: "1h"
  - name: two-person
    tickets: {min_approvals: 2}
    token: {audience: "db", scopes: ["db:admin"], max_ttl: 10m}
  - name: svc
    tickets: {kinds: [standard]}
    certificate:
      profile: spiffe
      uri_sans: ["spiffe://acme.internal/svc/{claims.service}"]
  - name: lax
    tickets: {separation_of_duties: false}
    token: {audience: "lax"}
  - name: breakglass
    break_glass: true
    tickets: {kinds: [emergency], min_approvals: 0}
    token: {audience: "admin-api", scopes: ["admin"], max_ttl: 1h}
  - name: breakglass-mixed
    break_glass: true
    tickets: {kinds: [normal], min_approvals: 0}
    token: {audience: "admin-api", max_ttl: 30m}
)";

const TimePoint kNow = Clock::from_time_t(1'795'456'800);  // 2026-11-23T18:00:00Z
const std::string kSub = "repo:acme/api:environment:prod";

class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = PolicySet::parseFile(kPolicies, "test.yaml");
    ASSERT_TRUE(p.ok()) << p.error().toString();
    set_ = std::move(p).value();
    caller_.issuer = "https://issuer.example";
    caller_.subject = kSub;
    caller_.claims = {{"sub", kSub},
                      {"repository", "acme/api"},
                      {"ref", "refs/heads/main"},
                      {"env", "prod"},
                      {"service", "payments"}};
    ticket_.id = "CHG0031337";
    ticket_.state = "approved";
    ticket_.kind = "normal";
    ticket_.requested_by = "alice@example.com";
    ticket_.approved_by = {"bob@example.com"};
    ticket_.subjects = {kSub};
    ticket_.access = {"deploy"};
    ticket_.window_start = kNow - hours(1);
    ticket_.window_end = kNow + hours(1);
  }

  Decision eval() const { return evaluate(set_, caller_, ticket_, req_, kNow); }

  PolicySet set_;
  CallerFacts caller_;
  TicketFacts ticket_;
  IssueRequest req_;
};

TEST_F(EvaluateTest, AllowsTokenWithTheExactProfile) {
  req_.scopes = {"deploy:write"};
  req_.ttl = seconds(3600);
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.grant, "deploy");
  EXPECT_EQ(d.policy_file, "test.yaml");
  EXPECT_TRUE(d.failed_rule.empty());
  EXPECT_EQ(d.audience, "deploy-api");
  EXPECT_EQ(d.scopes, (std::vector<std::string>{"deploy:write"}));
  EXPECT_EQ(d.ttl, minutes(15));
  EXPECT_FALSE(d.break_glass);
  EXPECT_FALSE(d.ticket_closed);
  std::vector<std::string> rules;
  for (const auto& r : d.basis) {
    EXPECT_TRUE(r.passed) << r.rule;
    rules.push_back(r.rule);
  }
  EXPECT_EQ(rules, (std::vector<std::string>{
                       "caller.subject", "ticket.state", "ticket.window", "grant.access",
                       "grant.unknown", "subject.issuer", "subject.claims", "ticket.kind",
                       "ticket.separation_of_duties", "ticket.min_approvals", "credential.kind",
                       "request.audience", "request.scope", "request.ttl"}));
}

TEST_F(EvaluateTest, EmptyScopeMeansAllGrantScopesInGrantOrder) {
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.scopes, (std::vector<std::string>{"deploy:read", "deploy:write"}));
  req_.scopes = {"deploy:write", "deploy:read", "deploy:write"};
  EXPECT_EQ(eval().scopes, (std::vector<std::string>{"deploy:read", "deploy:write"}));
}

TEST_F(EvaluateTest, TtlIsTheMinimumOfRequestedMaxTtlAndWindow) {
  struct Case {
    std::optional<seconds> requested;
    milliseconds window_left;
    seconds want;
  } cases[] = {
      {seconds(60), hours(1), seconds(60)},                  // the request is smallest
      {seconds(3600), hours(1), minutes(15)},                // the grant's max_ttl is smallest
      {std::nullopt, hours(1), minutes(15)},                 // no request: max_ttl
      {seconds(3600), milliseconds(300'900), seconds(300)},  // the window, truncated to seconds
  };
  for (const auto& c : cases) {
    req_.ttl = c.requested;
    ticket_.window_end = kNow + c.window_left;
    Decision d = eval();
    ASSERT_TRUE(d.allowed) << d.message;
    EXPECT_EQ(d.ttl, c.want) << d.basis.back().detail;
  }
}

TEST_F(EvaluateTest, AllowsCertificateWithSubstitutedSans) {
  req_.kind = CredentialKind::kCertificate;
  ticket_.window_end = kNow + minutes(40);
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.cert_profile, CertProfile::kClient);
  EXPECT_EQ(d.uri_sans, (std::vector<std::string>{"spiffe://acme.internal/ci/acme/api"}));
  EXPECT_EQ(d.dns_sans, (std::vector<std::string>{"prod.deploy.acme.internal"}));
  EXPECT_EQ(d.ttl, minutes(40));
  EXPECT_EQ(d.basis.back().rule, "san.substitution");
}

TEST_F(EvaluateTest, AllowsSpiffeCertificate) {
  req_.kind = CredentialKind::kCertificate;
  ticket_.kind = "standard";
  ticket_.access = {"svc"};
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.cert_profile, CertProfile::kSpiffe);
  EXPECT_EQ(d.uri_sans, (std::vector<std::string>{"spiffe://acme.internal/svc/payments"}));
  EXPECT_TRUE(d.dns_sans.empty());
  EXPECT_EQ(d.ttl, hours(1));
}

struct DenyCase {
  const char* name;
  std::function<void(CallerFacts&, TicketFacts&, IssueRequest&)> setup;
  const char* rule;
  const char* mentions;  // a substring the message must carry (e.g. the person named)
  bool ticket_closed = false;
  DenialKind denial_kind = DenialKind::kGrant;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const DenyCase& c, std::ostream* os) { *os << c.name; }


const DenyCase kDenyCases[] = {
    {"pending", [](auto&, auto& t, auto&) { t.state = "pending"; }, "ticket.state", "'pending'"},
    {"closed", [](auto&, auto& t, auto&) { t.state = "closed"; }, "ticket.state", "'closed'", true},
    {"canceled", [](auto&, auto& t, auto&) { t.state = "canceled"; }, "ticket.state", "canceled",
     true},
    {"rejected", [](auto&, auto& t, auto&) { t.state = "rejected"; }, "ticket.state", "rejected",
     true},
    {"self_approval",
     [](auto&, auto& t, auto&) {
       t.approved_by = {"bob@example.com", "alice@example.com"};
     },
     "ticket.separation_of_duties", "'alice@example.com' is the requester"},
    {"self_approval_other_case",
     [](auto&, auto& t, auto&) { t.approved_by = {"Alice@Example.COM"}; },
     "ticket.separation_of_duties", "'Alice@Example.COM' is the requester"},
    {"approver_is_subject",
     [](auto&, auto& t, auto&) {
       t.approved_by = {"bob@example.com", kSub};
     },
     "ticket.separation_of_duties", "'repo:acme/api:environment:prod' is a subject"},
    {"no_approvals", [](auto&, auto& t, auto&) { t.approved_by = {}; }, "ticket.min_approvals",
     "has 0 distinct approval(s)"},
    {"too_few_approvals",
     [](auto&, auto& t, auto& r) {
       t.access = {"two-person"};
       t.approved_by = {"bob@example.com", "BOB@example.com", "bob@example.com", ""};
       r.grant = "two-person";
     },
     "ticket.min_approvals", "has 1 distinct approval(s); grant 'two-person' requires 2"},
    {"window_not_started", [](auto&, auto& t, auto&) { t.window_start = kNow + seconds(1); },
     "ticket.window", "has not started yet"},
    {"window_over", [](auto&, auto& t, auto&) { t.window_end = kNow; }, "ticket.window", "is over",
     true},
    {"caller_not_in_subjects", [](auto& c, auto&, auto&) { c.subject = "repo:evil/x:ref:main"; },
     "caller.subject", "'repo:evil/x:ref:main' is not a subject"},
    {"claims_not_matching", [](auto& c, auto&, auto&) { c.claims["repository"] = "evil/api"; },
     "subject.claims", "'repository' = 'evil/api' does not match 'acme/*'"},
    {"claim_missing", [](auto& c, auto&, auto&) { c.claims.erase("ref"); }, "subject.claims",
     "'ref' required by grant 'deploy' is missing"},
    {"issuer_mismatch", [](auto& c, auto&, auto&) { c.issuer = "https://other.example"; },
     "subject.issuer", "'https://other.example'"},
    {"grant_not_in_access", [](auto&, auto&, auto& r) { r.grant = "two-person"; }, "grant.access",
     "'two-person' is not in the access"},
    {"grant_unknown",
     [](auto&, auto& t, auto& r) {
       t.access = {"deploy", "ghost"};
       r.grant = "ghost";
     },
     "grant.unknown", "'ghost' is not defined"},
    {"no_access", [](auto&, auto& t, auto&) { t.access = {}; }, "grant.access",
     "approves no grant"},
    {"kind_not_allowed", [](auto&, auto& t, auto&) { t.kind = "emergency"; }, "ticket.kind",
     "of kind 'emergency'"},
    {"scope_outside_grant",
     [](auto&, auto&, auto& r) {
       r.scopes = {"deploy:read", "deploy:admin"};
     },
     "request.scope", "'deploy:admin'", false, DenialKind::kScope},
    {"audience_outside_grant", [](auto&, auto&, auto& r) { r.audience = "db"; }, "request.audience",
     "'db' is not allowed by grant 'deploy'", false, DenialKind::kTarget},
    {"credential_kind",
     [](auto&, auto& t, auto&) {
       t.access = {"svc"};
       t.kind = "standard";
     },
     "credential.kind", "issues no tokens"},
    {"ttl_zero", [](auto&, auto&, auto& r) { r.ttl = seconds(0); }, "request.ttl",
     "at least 1 second", false, DenialKind::kRequest},
    {"ttl_negative", [](auto&, auto&, auto& r) { r.ttl = seconds(-5); }, "request.ttl",
     "at least 1 second", false, DenialKind::kRequest},
    {"window_ends_within_a_second",
     [](auto&, auto& t, auto&) { t.window_end = kNow + milliseconds(999); }, "request.ttl",
     "less than a second remains"},
    {"san_claim_missing",
     [](auto& c, auto&, auto& r) {
       r.kind = CredentialKind::kCertificate;
       c.claims.erase("env");
     },
     "san.substitution", "claim 'env' is missing"},
    {"san_dotdot",
     [](auto& c, auto&, auto& r) {
       r.kind = CredentialKind::kCertificate;
       c.claims["repository"] = "acme/../root";
     },
     "san.substitution", "contains '..'"},
    {"san_dns_value_spans_labels",
     [](auto& c, auto&, auto& r) {
       r.kind = CredentialKind::kCertificate;
       c.claims["env"] = "prod.payments";
     },
     "san.substitution",
     "SAN template '{claims.env}.deploy.acme.internal' of grant 'deploy': claim 'env' "
     "'prod.payments' spans more than one DNS label"},
    {"san_space",
     [](auto& c, auto& t, auto& r) {
       r.kind = CredentialKind::kCertificate;
       t.kind = "standard";
       t.access = {"svc"};
       c.claims["service"] = "a b";
     },
     "san.substitution", "character outside"},
    {"san_brace",
     [](auto& c, auto& t, auto& r) {
       r.kind = CredentialKind::kCertificate;
       t.kind = "standard";
       t.access = {"svc"};
       c.claims["service"] = "{";
     },
     "san.substitution", "character outside"},
    {"san_empty",
     [](auto& c, auto& t, auto& r) {
       r.kind = CredentialKind::kCertificate;
       t.kind = "standard";
       t.access = {"svc"};
       c.claims["service"] = "";
     },
     "san.substitution", "is empty"},
    {"breakglass_refuses_normal_ticket", [](auto&, auto& t, auto&) { t.access = {"breakglass"}; },
     "ticket.kind", "grant 'breakglass' accepts only emergency"},
    {"breakglass_needs_approval_for_normal_ticket",
     [](auto&, auto& t, auto&) {
       t.access = {"breakglass-mixed"};
       t.approved_by = {};
     },
     "ticket.min_approvals", "requires 1"},
    {"breakglass_keeps_separation_of_duties",
     [](auto&, auto& t, auto&) {
       t.access = {"breakglass"};
       t.kind = "emergency";
       t.approved_by = {"alice@example.com"};
     },
     "ticket.separation_of_duties", "'alice@example.com' is the requester"},
};

class EvaluateDenyTest : public EvaluateTest, public ::testing::WithParamInterface<DenyCase> {};

TEST_P(EvaluateDenyTest, NamesTheFailedRule) {
  const DenyCase& c = GetParam();
  c.setup(caller_, ticket_, req_);
  Decision d = eval();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.failed_rule, c.rule) << d.message;
  EXPECT_NE(d.message.find(std::string("denied by rule ") + c.rule + ":"), std::string::npos)
      << d.message;
  EXPECT_NE(d.message.find(c.mentions), std::string::npos) << d.message;
  EXPECT_EQ(d.ticket_closed, c.ticket_closed) << d.message;
  EXPECT_EQ(d.denial_kind, c.denial_kind) << d.message;
  EXPECT_FALSE(d.break_glass);
  ASSERT_FALSE(d.basis.empty());
  EXPECT_EQ(d.basis.back().rule, c.rule);
  EXPECT_FALSE(d.basis.back().passed);
  for (size_t i = 0; i + 1 < d.basis.size(); ++i) EXPECT_TRUE(d.basis[i].passed) << d.basis[i].rule;
  // A denial carries no issuance profile.
  EXPECT_TRUE(d.audience.empty());
  EXPECT_EQ(d.ttl, seconds(0));
  EXPECT_TRUE(d.uri_sans.empty());
}

INSTANTIATE_TEST_SUITE_P(Rules, EvaluateDenyTest, ::testing::ValuesIn(kDenyCases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST_F(EvaluateTest, SeparationOfDutiesCanBeTurnedOff) {
  ticket_.access = {"lax"};
  ticket_.approved_by = {"alice@example.com"};
  Decision d = eval();
  EXPECT_TRUE(d.allowed) << d.message;
}

TEST_F(EvaluateTest, BreakGlassAllowsEmergencyWithoutApprovals) {
  ticket_.kind = "emergency";
  ticket_.approved_by = {};
  ticket_.access = {"breakglass"};
  ticket_.window_end = kNow + hours(8);
  req_.ttl = seconds(86400);
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_TRUE(d.break_glass);
  EXPECT_EQ(d.grant, "breakglass");
  EXPECT_EQ(d.audience, "admin-api");
  EXPECT_EQ(d.scopes, (std::vector<std::string>{"admin"}));
  EXPECT_EQ(d.ttl, hours(1));
  EXPECT_TRUE(boost::json::parse(d.basisText()).at("break_glass").as_bool());
}

TEST_F(EvaluateTest, BreakGlassGrantOnNormalTicketIsNotFlagged) {
  ticket_.access = {"breakglass-mixed"};
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_FALSE(d.break_glass);
}

TEST_F(EvaluateTest, AutoSelectionPicksFirstAllowingGrantInAccessOrder) {
  // two-person needs two approvals and fails; deploy allows.
  ticket_.access = {"two-person", "deploy", "lax"};
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.grant, "deploy");
  bool saw_two_person_failure = false;
  for (const auto& r : d.basis)
    if (r.grant == "two-person" && !r.passed) saw_two_person_failure = true;
  EXPECT_TRUE(saw_two_person_failure);

  // With both able to allow, the first listed wins.
  ticket_.access = {"lax", "deploy"};
  EXPECT_EQ(eval().grant, "lax");
  ticket_.access = {"deploy", "lax"};
  EXPECT_EQ(eval().grant, "deploy");
}

TEST_F(EvaluateTest, AutoSelectionReportsTheFirstCandidateWhenNoneAllows) {
  ticket_.access = {"two-person", "svc"};
  Decision d = eval();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.grant, "two-person");
  EXPECT_EQ(d.failed_rule, "ticket.min_approvals");
  EXPECT_NE(d.message.find("no grant in the access of ticket 'CHG0031337' allows this request"),
            std::string::npos)
      << d.message;
  // The certificate-only grant was examined too and is in the basis.
  EXPECT_EQ(d.basis.back().grant, "svc");
  EXPECT_EQ(d.basis.back().rule, "ticket.kind");
}

TEST_F(EvaluateTest, DeterministicBasisJson) {
  ticket_.access = {"two-person", "deploy"};
  std::string a = eval().basisText();
  std::string b = eval().basisText();
  EXPECT_EQ(a, b);
  boost::json::object o = boost::json::parse(a).as_object();
  EXPECT_EQ(o.at("grant").as_string(), "deploy");
  EXPECT_EQ(o.at("policy_file").as_string(), "test.yaml");
  EXPECT_TRUE(o.at("allowed").as_bool());
  EXPECT_EQ(o.at("failed_rule").as_string(), "");
  const auto& rules = o.at("rules").as_array();
  ASSERT_FALSE(rules.empty());
  EXPECT_EQ(rules[0].at("rule").as_string(), "caller.subject");
  EXPECT_TRUE(rules[0].at("passed").as_bool());
  EXPECT_FALSE(rules[0].as_object().contains("grant"));
}

TEST_F(EvaluateTest, BasisNamesThePolicyFileWithoutTheServersFolders) {
  auto p = PolicySet::parseFile(kPolicies, "/etc/jitbroker/policies/prod.yaml");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  set_ = std::move(p).value();
  // Named and auto-selected grants, allowed (deploy, lax) and denied (two-person).
  for (std::vector<std::string> access : {std::vector<std::string>{"deploy"},
                                          std::vector<std::string>{"two-person", "lax"}}) {
    ticket_.access = access;
    for (const std::string& grant : {access[0], std::string()}) {
      req_.grant = grant;
      Decision d = eval();
      EXPECT_EQ(d.policy_file, "prod.yaml");
      EXPECT_EQ(d.basisText().find("/etc/"), std::string::npos) << d.basisText();
    }
  }
}

TEST(DecisionBasis, TextIsWhatBoostJsonWritesForTheSameObject) {
  // Every ASCII character (NUL and the other controls too) and multi-byte UTF-8: the text must
  // match Boost.JSON's own serializer byte for byte (the audit log's lines keep their form).
  // The strings are UTF-8, as everything the broker takes in is (forms are checked, JSON
  // parsers check).
  std::string all;
  for (int c = 0; c < 128; ++c) all += static_cast<char>(c);
  all += "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x91";
  Decision d;
  d.policy_file = "p\"o\\l.yaml";
  d.grant = "deploy";
  d.allowed = false;
  d.failed_rule = "ticket.window";
  d.break_glass = true;
  d.basis = {{"ticket.state", true, "ticket 'X' is approved\n\t\x01", ""},
             {"ticket.window", false, all, "deploy"}};
  boost::json::object o{{"policy_file", d.policy_file}, {"grant", d.grant},
                        {"allowed", false},            {"failed_rule", d.failed_rule},
                        {"break_glass", true}};
  boost::json::array rules;
  rules.push_back(boost::json::object{{"rule", "ticket.state"}, {"passed", true},
                                      {"detail", d.basis[0].detail}});
  rules.push_back(boost::json::object{{"rule", "ticket.window"}, {"passed", false},
                                      {"detail", all}, {"grant", "deploy"}});
  o["rules"] = std::move(rules);
  EXPECT_EQ(d.basisText(), boost::json::serialize(o));

  // And it reads back as the same values.
  boost::json::value back = boost::json::parse(d.basisText());
  EXPECT_EQ(back.at("rules").at(1).at("detail").as_string(), all);
  EXPECT_EQ(back.at("policy_file").as_string(), "p\"o\\l.yaml");
  EXPECT_FALSE(back.at("rules").at(0).as_object().contains("grant"));

  Decision empty;
  EXPECT_EQ(empty.basisText(),
            R"({"policy_file":"","grant":"","allowed":false,"failed_rule":"","break_glass":false,"rules":[]})");
}

TEST_F(EvaluateTest, ArrayAndNonStringClaimsMatchByElementOrJsonText) {
  auto p = PolicySet::parseFile(R"(grants:
  - name: g
    subjects:
      claims: {groups: "ops-*", admin: "true", level: "3"}
    token: {audience: a}
)",
                                "c.yaml");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  ticket_.access = {"g"};
  caller_.claims["groups"] = boost::json::array{"dev", "ops-oncall"};
  caller_.claims["admin"] = true;
  caller_.claims["level"] = 3;
  Decision d = evaluate(p.value(), caller_, ticket_, req_, kNow);
  EXPECT_TRUE(d.allowed) << d.message;
  caller_.claims["groups"] = boost::json::array{"dev", "qa"};
  d = evaluate(p.value(), caller_, ticket_, req_, kNow);
  EXPECT_EQ(d.failed_rule, "subject.claims");
  caller_.claims["groups"] = "ops-x";
  caller_.claims["admin"] = "false";
  d = evaluate(p.value(), caller_, ticket_, req_, kNow);
  EXPECT_EQ(d.failed_rule, "subject.claims");
}

}  // namespace
}  // namespace jitb::policies
