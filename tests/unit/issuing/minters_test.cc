// The two credential minters through the service: what each makes, what its lease records,
// and how a refusal by the signer or the CA is answered.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/core/duration.h"
#include "tests/unit/issuing/service_fixture.h"

namespace jitb::testing {
namespace {

using ::testing::_;
using ::testing::Return;

class MintersTest : public ServiceFixture {};

int64_t unix(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TEST_F(MintersTest, TokenClaimsFollowTheDecision) {
  auto r = tokenRequest();
  r.scopes = {"w"};
  r.ttl = std::chrono::seconds(600);
  auto out = issue(r);
  ASSERT_TRUE(out);
  ASSERT_NE(std::get_if<issuing::Issued>(&*out), nullptr);
  const auto& c = signed_claims_;
  EXPECT_EQ(c.at("iss"), "https://broker.example");
  EXPECT_EQ(c.at("sub"), "repo:acme/api");
  EXPECT_EQ(c.at("aud"), "api");
  EXPECT_EQ(c.at("scope"), "w");
  EXPECT_EQ(c.at("ticket"), "CHG1");
  EXPECT_EQ(c.at("grant"), "deploy");
  EXPECT_EQ(c.at("iat").as_int64(), unix(clock_.now()));
  EXPECT_EQ(c.at("nbf").as_int64(), unix(clock_.now()));
  EXPECT_EQ(c.at("exp").as_int64(), unix(clock_.now()) + 600);
  EXPECT_EQ(c.at("jti").as_string().size(), 32u);
  ASSERT_EQ(inserted_.size(), 1u);
  EXPECT_EQ(inserted_[0].kind, store::LeaseKind::kToken);
  EXPECT_EQ(inserted_[0].claims, boost::json::serialize(c));
  EXPECT_TRUE(inserted_[0].serial.empty());
  EXPECT_EQ(std::get<issuing::Issued>(*out).fields.at("expires_in"), 600);
}

TEST_F(MintersTest, ASigningFailureIsAnErrorWithNothingRecorded) {
  EXPECT_CALL(tokens_, sign).WillOnce(Return(core::internalError("no signing key")));
  EXPECT_CALL(store_, insertLeaseAsync).Times(0);
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kInternal);
  EXPECT_TRUE(audited_.empty());
}

TEST_F(MintersTest, CertificateFollowsTheProfile) {
  auto out = issue(certRequest());
  ASSERT_TRUE(out);
  auto* issued = std::get_if<issuing::Issued>(&*out);
  ASSERT_NE(issued, nullptr);
  EXPECT_EQ(issued->kind, store::LeaseKind::kCertificate);
  EXPECT_EQ(cert_request_.csr, "-----CSR-----");
  EXPECT_EQ(cert_request_.profile, policies::CertProfile::kClient);
  EXPECT_EQ(cert_request_.common_name, "repo:acme/api");
  EXPECT_EQ(cert_request_.dns_sans, (std::vector<std::string>{"svc.example"}));
  EXPECT_EQ(cert_request_.not_after, clock_.now() + std::chrono::hours(1));
  const auto& f = issued->fields;
  EXPECT_EQ(f.at("certificate"), "-----CERT-----");
  EXPECT_EQ(boost::json::serialize(f.at("ca_chain")), R"(["-----ICA-----","-----ROOT-----"])");
  EXPECT_EQ(f.at("serial"), "0a0b");
  EXPECT_EQ(f.at("not_after").as_string(), core::formatRfc3339(clock_.now() + std::chrono::hours(1)));
  EXPECT_EQ(f.at("expires_in"), 3600);
  EXPECT_FALSE(f.contains("private_key"));
  ASSERT_EQ(inserted_.size(), 1u);
  EXPECT_EQ(inserted_[0].serial, "0a0b");
  EXPECT_TRUE(inserted_[0].jti.empty());
  EXPECT_EQ(inserted_[0].expires_at - inserted_[0].issued_at, 3600 * 1000);
  EXPECT_EQ(audited("lease.issued"), 1u);
}

TEST_F(MintersTest, ABrokerMadeKeyIsReturnedWithItsCertificate) {
  auto r = certRequest();
  r.server_key = true;
  auto out = issue(r);
  ASSERT_TRUE(out);
  auto* issued = std::get_if<issuing::Issued>(&*out);
  ASSERT_NE(issued, nullptr);
  EXPECT_TRUE(cert_request_.csr.empty());  // the CA makes the key pair
  EXPECT_EQ(issued->fields.at("private_key"), "-----KEY-----");
}

TEST_F(MintersTest, ASubjectTooLongForACommonNameIsLeftToTheSans) {
  const std::string long_subject(65, 's');
  ticket_.subjects = {long_subject};
  auto r = certRequest();
  r.caller = caller(long_subject);
  auto out = issue(r);
  ASSERT_TRUE(out);
  ASSERT_NE(std::get_if<issuing::Issued>(&*out), nullptr);
  EXPECT_TRUE(cert_request_.common_name.empty());
}

TEST_F(MintersTest, TheCasRefusalIsAuditedAndReturned) {
  EXPECT_CALL(ca_, issue).WillOnce(Return(core::invalidArgument("the CSR's signature is invalid")));
  EXPECT_CALL(store_, insertLeaseAsync).Times(0);
  auto out = issue(certRequest());
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kInvalidArgument);
  EXPECT_EQ(st->message(), "the CSR's signature is invalid");
  const audit::Record* r = find("certificate.refused");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->fields.at("ticket"), "CHG1");
  EXPECT_EQ(r->fields.at("subject"), "repo:acme/api");
  EXPECT_EQ(r->fields.at("message"), "the CSR's signature is invalid");
  EXPECT_EQ(audited("lease.issued"), 0u);
}

// A new kind plugs in as one minter; registering a second minter of a kind replaces the first.
class FixedMinter final : public issuing::CredentialMinter {
 public:
  policies::CredentialKind kind() const override { return policies::CredentialKind::kToken; }
  std::variant<issuing::Minted, issuing::MintRefusal> mint(const issuing::MintContext& ctx) override {
    issuing::Minted m;
    m.lease.kind = store::LeaseKind::kToken;
    m.lease.expires_at = 1;
    m.fields = {{"made_for", ctx.request.caller.subject}, {"grant", ctx.decision.grant}};
    return m;
  }
};

TEST_F(MintersTest, AMinterOfTheSameKindReplacesTheOld) {
  FixedMinter fixed;
  service_->addMinter(fixed);
  EXPECT_CALL(tokens_, sign).Times(0);
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  auto* issued = std::get_if<issuing::Issued>(&*out);
  ASSERT_NE(issued, nullptr);
  EXPECT_EQ(issued->fields.at("made_for"), "repo:acme/api");
  EXPECT_EQ(issued->fields.at("grant"), "deploy");
}

}  // namespace
}  // namespace jitb::testing
