// IssuanceService: every way a request is refused before anything is minted, and the caller
// identification, over mocks (service_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/issuing/service_fixture.h"

namespace jitb::testing {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;

class ServiceTest : public ServiceFixture {};

std::string basisOf(const audit::Record& r) {
  for (const auto& [k, v] : r.json_fields)
    if (k == "basis") return v;
  return "";
}

TEST_F(ServiceTest, IssuesATokenWithTheDecisionsProfile) {
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* issued = std::get_if<issuing::Issued>(&*out);
  ASSERT_NE(issued, nullptr);
  EXPECT_EQ(issued->kind, store::LeaseKind::kToken);
  EXPECT_EQ(issued->subject, "repo:acme/api");
  EXPECT_EQ(issued->fields.at("access_token"), "header.payload.sig");
  EXPECT_EQ(issued->fields.at("scope"), "r w");
  EXPECT_EQ(issued->fields.at("expires_in"), 3600);
  ASSERT_EQ(inserted_.size(), 1u);
  const store::LeaseRow& l = inserted_[0];
  EXPECT_EQ(l.id, issued->lease_id);
  EXPECT_EQ(l.ticket, "CHG1");
  EXPECT_EQ(l.grant, "deploy");
  EXPECT_EQ(l.subject, "repo:acme/api");
  EXPECT_EQ(l.caller_issuer, "https://ci.example");
  EXPECT_EQ(l.expires_at - l.issued_at, 3600 * 1000);
  EXPECT_EQ(l.jti, signed_claims_.at("jti").as_string());
  EXPECT_FALSE(l.review);
  EXPECT_EQ(audited("decision.allowed"), 1u);
  EXPECT_EQ(audited("lease.issued"), 1u);
  EXPECT_THAT(metrics_.render(),
              HasSubstr("jitbroker_issuances_total{kind=\"token\",grant=\"deploy\"} 1"));
}

TEST_F(ServiceTest, UnreadableTicketIsAnAuditedDenialShowingOnlyItsRule) {
  EXPECT_CALL(tickets_, lookup("CHG1"))
      .WillOnce(Return(core::Status(core::Code::kPermissionDenied, "the record has no state")));
  EXPECT_CALL(tokens_, sign).Times(0);
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* d = std::get_if<issuing::Denial>(&*out);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->rule, "ticket.unreadable");
  EXPECT_EQ(d->message, "the record has no state");
  EXPECT_EQ(boost::json::serialize(d->basis), R"({"failed_rule":"ticket.unreadable"})");
  EXPECT_EQ(d->reason, policies::DenialKind::kGrant);
  EXPECT_FALSE(d->ticket_closed);
  const audit::Record* r = find("decision.denied");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->fields.at("ticket"), "CHG1");
  EXPECT_EQ(r->fields.at("subject"), "repo:acme/api");
  EXPECT_EQ(r->fields.at("issuer"), "https://ci.example");
  EXPECT_EQ(basisOf(*r), R"({"failed_rule":"ticket.unreadable"})");
  EXPECT_TRUE(inserted_.empty());
  EXPECT_THAT(metrics_.render(), HasSubstr("jitbroker_denials_total{rule=\"ticket.unreadable\"} 1"));
}

TEST_F(ServiceTest, UnknownTicketIsAnAuditedDenial) {
  auto r = tokenRequest();
  r.ticket = "CHG404";
  auto out = issue(r);
  ASSERT_TRUE(out);
  auto* d = std::get_if<issuing::Denial>(&*out);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->rule, "ticket.unknown");
  EXPECT_EQ(d->message, "ticket CHG404 is not known to the broker");
  EXPECT_EQ(boost::json::serialize(d->basis), R"({"failed_rule":"ticket.unknown"})");
  EXPECT_EQ(audited("decision.denied"), 1u);
}

TEST_F(ServiceTest, ALookupThatCannotBeAnsweredIsAnErrorNotADenial) {
  EXPECT_CALL(tickets_, lookup).WillOnce(Return(core::unavailable("the source did not answer")));
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kUnavailable);
  EXPECT_EQ(st->message(), "the source did not answer");
  EXPECT_TRUE(audited_.empty());
}

TEST_F(ServiceTest, ACallerWhoIsNotASubjectLearnsOnlyTheRule) {
  auto r = tokenRequest();
  r.caller = caller("repo:acme/other");
  auto out = issue(r);
  ASSERT_TRUE(out);
  auto* d = std::get_if<issuing::Denial>(&*out);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->rule, "caller.subject");
  EXPECT_EQ(d->message,
            "denied by rule caller.subject: the caller is not a subject of ticket CHG1");
  EXPECT_EQ(boost::json::serialize(d->basis), R"({"failed_rule":"caller.subject"})");
  // The audit keeps the whole basis.
  EXPECT_THAT(d->audit_basis, HasSubstr("\"rules\""));
  const audit::Record* rec = find("decision.denied");
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(basisOf(*rec), d->audit_basis);
  EXPECT_EQ(rec->fields.at("subject"), "repo:acme/other");
}

TEST_F(ServiceTest, AClosedTicketIsAFinalPolicyDenialWithItsBasis) {
  ticket_.state = "closed";
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* d = std::get_if<issuing::Denial>(&*out);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->rule, "ticket.state");
  EXPECT_TRUE(d->ticket_closed);
  EXPECT_EQ(d->reason, policies::DenialKind::kGrant);
  ASSERT_TRUE(d->basis.is_object());
  EXPECT_EQ(d->basis.at("failed_rule"), "ticket.state");
  EXPECT_EQ(boost::json::serialize(d->basis), d->audit_basis);
  EXPECT_TRUE(inserted_.empty());
}

TEST_F(ServiceTest, PolicyDenialsCarryWhatTheyRefuse) {
  auto r = tokenRequest();
  r.scopes = {"admin"};
  auto out = issue(r);
  ASSERT_TRUE(out);
  auto* d = std::get_if<issuing::Denial>(&*out);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->rule, "request.scope");
  EXPECT_EQ(d->reason, policies::DenialKind::kScope);
  EXPECT_FALSE(d->ticket_closed);

  r = tokenRequest();
  r.audience = "db";
  out = issue(r);
  ASSERT_TRUE(out);
  d = std::get_if<issuing::Denial>(&*out);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason, policies::DenialKind::kTarget);
}

TEST_F(ServiceTest, NoPoliciesLoadedIsUnavailable) {
  policies_.set(nullptr);
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kUnavailable);
  EXPECT_EQ(st->message(), "no policies are loaded");
  EXPECT_TRUE(audited_.empty());
}

TEST_F(ServiceTest, ADenialIsAnsweredOnlyOnceItsRecordIsDurable) {
  audit::AuditSink::Done pending;
  EXPECT_CALL(audit_, appendAllThen)
      .WillOnce([&](std::vector<audit::Record> r, audit::AuditSink::Done done,
                    audit::AuditSink::Durability durability) {
        EXPECT_EQ(r.at(0).event, "decision.denied");
        EXPECT_EQ(durability, audit::AuditSink::Durability::kSynced);
        pending = std::move(done);
      });
  ticket_.state = "closed";
  EXPECT_FALSE(issue(tokenRequest()));
  EXPECT_EQ(answers_, 0);
  // A failed audit does not turn a refusal into anything else.
  pending(core::unavailable("disk full"));
  ASSERT_EQ(answers_, 1);
  EXPECT_NE(std::get_if<issuing::Denial>(&**last_), nullptr);
}

TEST_F(ServiceTest, AKindWithoutAMinterIsNotConfigured) {
  issuing::IssuanceService tokens_only({callers_, tokens_, nullptr, policies_, tickets_, *leases_,
                                        store_, audit_, clock_, metrics_});
  tokens_only.addMinter(token_minter_);
  EXPECT_TRUE(tokens_only.canIssue(policies::CredentialKind::kToken));
  EXPECT_FALSE(tokens_only.canIssue(policies::CredentialKind::kCertificate));
  EXPECT_FALSE(tokens_only.acceptsPeers());
  EXPECT_CALL(tickets_, lookup).Times(0);
  std::optional<issuing::Outcome> got;
  tokens_only.issue(certRequest(), [&](issuing::Outcome o) { got = std::move(o); },
                    [](std::function<void()> fn) { fn(); });
  ASSERT_TRUE(got);
  auto* st = std::get_if<core::Status>(&*got);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kUnavailable);
  EXPECT_EQ(st->message(), "certificate issuance is not configured");

  issuing::IssuanceService none({callers_, tokens_, nullptr, policies_, tickets_, *leases_,
                                 store_, audit_, clock_, metrics_});
  got.reset();
  none.issue(tokenRequest(), [&](issuing::Outcome o) { got = std::move(o); },
             [](std::function<void()> fn) { fn(); });
  ASSERT_TRUE(got);
  EXPECT_EQ(std::get<core::Status>(*got).message(), "token issuance is not configured");
}

TEST_F(ServiceTest, IdentifiesByJwtThenByClientCertificate) {
  EXPECT_CALL(callers_, verify("jwt", clock_.now())).WillOnce(Return(caller("by-jwt")));
  EXPECT_CALL(peers_, authenticate("der", clock_.now())).WillOnce(Return(caller("by-cert")));
  EXPECT_TRUE(service_->acceptsPeers());
  // A JWT wins over a client certificate.
  auto a = service_->identify("jwt", "der");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->subject, "by-jwt");
  auto b = service_->identify("", "der");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->subject, "by-cert");
  auto c = service_->identify("", "");
  EXPECT_EQ(c.status().code(), core::Code::kUnauthenticated);
  EXPECT_EQ(c.status().message(), "no caller identity: present a JWT or a client certificate");
}

TEST_F(ServiceTest, WithoutPeersAClientCertificateIsNoIdentity) {
  issuing::IssuanceService jwt_only({callers_, tokens_, nullptr, policies_, tickets_, *leases_,
                                     store_, audit_, clock_, metrics_});
  EXPECT_CALL(peers_, authenticate).Times(0);
  EXPECT_EQ(jwt_only.identify("", "der").status().code(), core::Code::kUnauthenticated);
}

}  // namespace
}  // namespace jitb::testing
