// The `ssh:` grant section: what the parser refuses, and the certificate profile a decision
// hands the SSH minter.
#include <gtest/gtest.h>

#include "policies/engine/policy.h"
#include "policies/engine/ssh_rule.h"

namespace jitb::policies {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr const char* kPolicies = R"(grants:
  - name: admin-shell
    tickets: {kinds: [normal]}
    ssh:
      principals: ["{claims.email}", "ticket-{ticket.id}", "ops"]
      max_ttl: 30m
      extensions: [permit-pty, permit-agent-forwarding]
      force_command: "/usr/bin/id -un"
      source_address: "10.0.0.0/8,127.0.0.1"
  - name: defaults
    ssh: {principals: ["{subject}"]}
  - name: tokens-only
    token: {audience: "api"}
)";

const TimePoint kNow = Clock::from_time_t(1'795'456'800);

class SshGrantTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = PolicySet::parseFile(kPolicies, "ssh.yaml");
    ASSERT_TRUE(p.ok()) << p.error().toString();
    set_ = std::move(p).value();
    caller_.issuer = "https://issuer.example";
    caller_.subject = "alice";
    caller_.claims = {{"sub", "alice"}, {"email", "alice@example.com"}};
    ticket_.id = "CHG0031337";
    ticket_.state = "approved";
    ticket_.kind = "normal";
    ticket_.requested_by = "carol@example.com";
    ticket_.approved_by = {"bob@example.com"};
    ticket_.subjects = {"alice"};
    ticket_.access = {"admin-shell"};
    ticket_.window_start = kNow - hours(1);
    ticket_.window_end = kNow + hours(1);
    req_.kind = CredentialKind::kSsh;
  }
  Decision eval() const { return evaluate(set_, caller_, ticket_, req_, kNow); }

  PolicySet set_;
  CallerFacts caller_;
  TicketFacts ticket_;
  IssueRequest req_;
};

TEST_F(SshGrantTest, AllowedDecisionCarriesTheSubstitutedProfile) {
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.ssh_principals,
            (std::vector<std::string>{"alice@example.com", "ticket-CHG0031337", "ops"}));
  EXPECT_EQ(d.ssh_extensions,
            (std::vector<std::string>{"permit-pty", "permit-agent-forwarding"}));
  EXPECT_EQ(d.ssh_force_command, "/usr/bin/id -un");
  EXPECT_EQ(d.ssh_source_address, "10.0.0.0/8,127.0.0.1");
  EXPECT_EQ(d.ttl, minutes(30));
  EXPECT_EQ(d.basis.back().rule, "ssh.principals");
}

TEST_F(SshGrantTest, TtlNeverOutlivesTheWindow) {
  ticket_.window_end = kNow + minutes(7);
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.ttl, minutes(7));
}

TEST_F(SshGrantTest, DefaultsArePermitPtyAndOneHour) {
  ticket_.access = {"defaults"};
  Decision d = eval();
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.ssh_principals, (std::vector<std::string>{"alice"}));
  EXPECT_EQ(d.ssh_extensions, (std::vector<std::string>{"permit-pty"}));
  EXPECT_EQ(d.ttl, hours(1));
  EXPECT_TRUE(d.ssh_force_command.empty());
}

TEST_F(SshGrantTest, AClaimThatWouldAddAPrincipalIsDenied) {
  for (const char* bad : {"alice,root", "alice root", "", "a\nb"}) {
    caller_.claims["email"] = bad;
    Decision d = eval();
    EXPECT_FALSE(d.allowed) << bad;
    EXPECT_EQ(d.failed_rule, "ssh.principals") << bad;
    EXPECT_TRUE(d.ssh_principals.empty());
  }
  caller_.claims.erase("email");
  EXPECT_EQ(eval().failed_rule, "ssh.principals");
}

TEST_F(SshGrantTest, AGrantWithoutSshIssuesNone) {
  ticket_.access = {"tokens-only"};
  Decision d = eval();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.failed_rule, "credential.kind");
  EXPECT_NE(d.message.find("SSH certificates"), std::string::npos) << d.message;
}

TEST(SshGrantParseTest, RefusesWhatSshdWouldRejectOrWhatAdmitsAnyone) {
  auto refused = [](const std::string& ssh, const std::string& want) {
    auto p = PolicySet::parseFile("grants:\n  - name: g\n    ssh: " + ssh + "\n", "p.yaml");
    ASSERT_FALSE(p.ok()) << ssh;
    EXPECT_NE(p.error().message.find(want), std::string::npos) << p.error().message;
  };
  refused("{max_ttl: 1h}", "principals' is required");
  refused("{principals: []}", "must not be empty");
  refused("{principals: [\"a b\"]}", "not allowed");
  refused("{principals: [\"a,b\"]}", "not allowed");
  refused("{principals: [\"{claims.x\"]}", "without a matching");
  refused("{principals: [\"{ticket.state}\"]}", "unknown placeholder");
  refused("{principals: [root], extensions: [permit-everything]}", "permit-everything");
  refused("{principals: [root], extensions: [permit-pty, permit-pty]}", "twice");
  refused("{principals: [root], source_address: \"10.0.0.0/33\"}", "CIDRs");
  refused("{principals: [root], source_address: \"host.example\"}", "CIDRs");
  refused("{principals: [root], force_command: \"a\\nb\"}", "one line");
  refused("{principals: [root], options: x}", "options");
  auto bg = PolicySet::parseFile(
      "grants:\n  - name: g\n    break_glass: true\n    tickets: {kinds: [emergency], "
      "min_approvals: 0}\n    ssh: {principals: [root], max_ttl: 2h}\n",
      "p.yaml");
  ASSERT_FALSE(bg.ok());
  EXPECT_NE(bg.error().message.find("at most 1h"), std::string::npos) << bg.error().message;
}

TEST(SshRuleTest, ExtensionsAndSourceAddresses) {
  EXPECT_TRUE(isSshExtension("permit-X11-forwarding"));
  EXPECT_TRUE(isSshExtension("login@github.com"));
  EXPECT_FALSE(isSshExtension("no-touch-required"));
  EXPECT_FALSE(isSshExtension("@x"));
  EXPECT_FALSE(isSshExtension("a@b@c"));
  EXPECT_TRUE(isCidrList("10.0.0.0/8,192.168.1.7,2001:db8::/32"));
  EXPECT_FALSE(isCidrList("10.0.0.0/8, 192.168.1.7"));
  EXPECT_FALSE(isCidrList("10.0.0.0/"));
  EXPECT_FALSE(isCidrList("2001:db8::/129"));
  EXPECT_FALSE(isCidrList(""));
}

}  // namespace
}  // namespace jitb::policies
