#include "policies/engine/san_template.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace jitb::policies {
namespace {

using Kind = SanTemplate::Kind;

SanTemplate mustParse(const std::string& text, Kind kind) {
  std::string why;
  auto t = SanTemplate::parse(text, kind, &why);
  EXPECT_TRUE(t.has_value()) << text << ": " << why;
  return t ? *t : *SanTemplate::parse("x", Kind::kDns, &why);
}

// Expands `text` with claim "v" = value; returns the result or "ERR: why".
std::string expandWith(const std::string& text, Kind kind, const boost::json::value& value) {
  boost::json::object claims{{"v", value}, {"s", "ok"}};
  SanContext ctx{&claims, "sub-1", "CHG1"};
  std::string why;
  auto out = mustParse(text, kind).expand(ctx, &why);
  return out ? *out : "ERR: " + why;
}

TEST(SanTemplate, SubstitutesClaimsSubjectAndTicket) {
  EXPECT_EQ(expandWith("spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "acme/api"),
            "spiffe://acme.internal/ci/acme/api");
  EXPECT_EQ(expandWith("spiffe://acme.internal/{subject}/{ticket}", Kind::kUri, "x"),
            "spiffe://acme.internal/sub-1/CHG1");
  EXPECT_EQ(expandWith("{claims.v}.svc.acme.internal", Kind::kDns, "payments"),
            "payments.svc.acme.internal");
  EXPECT_EQ(expandWith("spiffe://acme.internal/static", Kind::kUri, "x"),
            "spiffe://acme.internal/static");
}

TEST(SanTemplate, RejectsHostileOrMissingValues) {
  struct Case {
    const char* text;
    Kind kind;
    boost::json::value value;
    const char* why;  // substring of the error
  } cases[] = {
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "../x", "'..'"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "a/../b", "'..'"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "..", "'..'"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "a b", "character outside"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "{", "character outside"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "{claims.s}", "character outside"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "", "is empty"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "a//b", "empty or '.'"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "/a", "empty or '.'"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "a?x=1", "character outside"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, "a%2f", "character outside"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, 42, "not a string"},
      {"spiffe://acme.internal/ci/{claims.v}", Kind::kUri, boost::json::array{"a"}, "not a string"},
      {"spiffe://acme.internal/ci/{claims.missing}", Kind::kUri, "x", "missing"},
      // '/' is only for path positions: a host part cannot be bent into a path.
      {"spiffe://{claims.v}/ci", Kind::kUri, "evil.com/x", "character outside"},
      {"{claims.v}.acme.internal", Kind::kDns, "a/b", "character outside"},
      {"{claims.v}.acme.internal", Kind::kDns, "Upper", "not a valid lowercase DNS name"},
      {"{claims.v}.acme.internal", Kind::kDns, "a_b", "is not a DNS label"},
      {"{claims.v}.acme.internal", Kind::kDns, "-a", "is not a DNS label"},
      {"{claims.v}x.acme.internal", Kind::kDns, "a-", "is not a DNS label"},
      {"{claims.v}.acme.internal", Kind::kDns, "a.", "spans more than one DNS label"},
      {"{claims.v}.acme.internal", Kind::kDns, boost::json::string(64, 'a'), "is not a DNS label"},
      // Even with ':dotted' the whole name must still be a valid DNS name.
      {"{claims.v:dotted}.acme.internal", Kind::kDns, "a..b", "'..'"},
      {"{claims.v:dotted}.acme.internal", Kind::kDns, "a.-b", "not a valid lowercase DNS name"},
  };
  for (const auto& c : cases) {
    std::string got = expandWith(c.text, c.kind, c.value);
    EXPECT_EQ(got.rfind("ERR: ", 0), 0u) << c.text << " accepted " << got;
    EXPECT_NE(got.find(c.why), std::string::npos) << c.text << ": " << got;
  }
}

// A plain placeholder in a DNS template is one label: a caller whose claim holds dots must
// not move the name into another zone ("db.payments" + ".svc.cluster.local").
TEST(SanTemplate, DnsPlaceholderIsOneLabelUnlessDotted) {
  const std::string plain = "{claims.v}.svc.cluster.local";
  std::string got = expandWith(plain, Kind::kDns, "db.payments");
  EXPECT_EQ(got.rfind("ERR: ", 0), 0u) << got;
  EXPECT_NE(got.find("claim 'v' 'db.payments' spans more than one DNS label"), std::string::npos)
      << got;
  EXPECT_NE(got.find("{claims.v:dotted}"), std::string::npos) << got;  // says how to opt in
  EXPECT_EQ(expandWith(plain, Kind::kDns, "db"), "db.svc.cluster.local");
  EXPECT_EQ(expandWith(std::string(63, 'a') + ".example", Kind::kDns, "x"),
            std::string(63, 'a') + ".example");
  EXPECT_EQ(expandWith("{claims.v}.example", Kind::kDns, boost::json::string(63, 'b')),
            std::string(63, 'b') + ".example");
  // The opt-in is per placeholder: the dotted one may span labels, the plain one may not.
  EXPECT_EQ(expandWith("{claims.v:dotted}.svc.cluster.local", Kind::kDns, "db.payments"),
            "db.payments.svc.cluster.local");
  EXPECT_EQ(expandWith("{claims.s}.{claims.v:dotted}.example", Kind::kDns, "a.b"),
            "ok.a.b.example");
  EXPECT_EQ(expandWith("{claims.v}.{claims.s:dotted}.example", Kind::kDns, "a.b").rfind("ERR: ", 0),
            0u);
  // {subject} follows the same rule.
  EXPECT_EQ(expandWith("{subject}.example", Kind::kDns, "x"), "sub-1.example");
  boost::json::object none;
  std::string why;
  SanContext dotted_sub{&none, "evil.corp", "CHG1"};
  EXPECT_FALSE(mustParse("{subject}.example", Kind::kDns).expand(dotted_sub, &why).has_value());
  EXPECT_NE(why.find("{subject:dotted}"), std::string::npos) << why;
  EXPECT_EQ(mustParse("{subject:dotted}.example", Kind::kDns).expand(dotted_sub, &why),
            "evil.corp.example");
  // URI templates keep their rules: dots in a path value are fine.
  EXPECT_EQ(expandWith("spiffe://acme.internal/svc/{claims.v}", Kind::kUri, "db.payments"),
            "spiffe://acme.internal/svc/db.payments");
}

TEST(SanTemplate, ParseRejectsBadTemplates) {
  struct Case {
    const char* text;
    Kind kind;
    const char* why;
  } cases[] = {
      {"spiffe://acme.internal/{claim.x}", Kind::kUri, "unknown placeholder"},
      {"spiffe://acme.internal/{foo}", Kind::kUri, "unknown placeholder"},
      {"spiffe://acme.internal/{}", Kind::kUri, "unknown placeholder"},
      {"spiffe://acme.internal/{claims.}", Kind::kUri, "unknown placeholder"},
      {"spiffe://acme.internal/{claims.a b}", Kind::kUri, "unknown placeholder"},
      {"spiffe://acme.internal/{claims.x", Kind::kUri, "without a matching '}'"},
      {"spiffe://acme.internal/{{claims.x}}", Kind::kUri, "without a matching '}'"},
      {"spiffe://acme.internal/x}", Kind::kUri, "without a matching '{'"},
      {"spiffe://acme.internal/a b", Kind::kUri, "not allowed"},
      {"{claims.x}://host/p", Kind::kUri, "literal URI scheme"},
      {"no-scheme", Kind::kUri, "literal URI scheme"},
      {"", Kind::kUri, "is empty"},
      {"Host.example", Kind::kDns, "not allowed"},
      {"*.example.com", Kind::kDns, "not allowed"},
      {"spiffe://acme.internal/{claims.x:dotted}", Kind::kUri, "only dns_sans templates"},
      {"{claims.x:dotty}.example.com", Kind::kDns, "unknown placeholder"},
      {"{claims.x:}.example.com", Kind::kDns, "unknown placeholder"},
      {"{:dotted}.example.com", Kind::kDns, "unknown placeholder"},
  };
  for (const auto& c : cases) {
    std::string why;
    EXPECT_FALSE(SanTemplate::parse(c.text, c.kind, &why).has_value()) << c.text;
    EXPECT_NE(why.find(c.why), std::string::npos) << c.text << ": " << why;
  }
}

TEST(SanTemplate, DnsAndSpiffeSyntax) {
  EXPECT_TRUE(isValidDnsName("a.b-c.example"));
  EXPECT_FALSE(isValidDnsName("a..b"));
  EXPECT_FALSE(isValidDnsName(""));
  EXPECT_TRUE(isValidSpiffeId("spiffe://acme.internal/svc/payments"));
  EXPECT_FALSE(isValidSpiffeId("spiffe://acme.internal"));
  EXPECT_FALSE(isValidSpiffeId("spiffe://acme.internal/"));
  EXPECT_FALSE(isValidSpiffeId("spiffe://acme.internal/a/../b"));
  EXPECT_FALSE(isValidSpiffeId("spiffe:///a"));
  EXPECT_FALSE(isValidSpiffeId("https://acme.internal/a"));
}

}  // namespace
}  // namespace jitb::policies
