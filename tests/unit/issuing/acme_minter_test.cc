// ACME through the service: the EAB key minter (kind acme_account), and certificates limited
// to an order's names (IssueRequest::dns_names).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/core/encoding.h"
#include "tests/unit/issuing/service_fixture.h"

namespace jitb::testing {
namespace {

class AcmeMinterTest : public ServiceFixture {};

TEST_F(AcmeMinterTest, AnEabKeyIsALeaseOfKindAcmeAccountJudgedByTheCertificateSection) {
  issuing::IssueRequest r = certRequest();
  r.kind = policies::CredentialKind::kAcmeAccount;
  r.csr.clear();
  auto out = issue(r);
  ASSERT_TRUE(out);
  auto* issued = std::get_if<issuing::Issued>(&*out);
  ASSERT_NE(issued, nullptr);
  const auto& f = issued->fields;
  EXPECT_EQ(issued->kind, store::LeaseKind::kAcmeAccount);
  EXPECT_EQ(std::string(f.at("kid").as_string()).substr(0, 4), "eab_");
  auto key = core::base64urlDecode(f.at("hmac_key").as_string());
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 32u);
  EXPECT_EQ(boost::json::serialize(f.at("dns_sans")), R"(["svc.example"])");
  ASSERT_EQ(inserted_.size(), 1u);
  EXPECT_EQ(inserted_[0].kind, store::LeaseKind::kAcmeAccount);
  EXPECT_EQ(inserted_[0].jti, f.at("kid").as_string());
  EXPECT_EQ(inserted_[0].expires_at - inserted_[0].issued_at, 3600 * 1000);
  // The key itself is never in the lease.
  EXPECT_EQ(inserted_[0].claims.find(std::string(f.at("hmac_key").as_string())), std::string::npos);
  EXPECT_STREQ(store::toString(inserted_[0].kind), "acme_account");
}

// A key starting with '-' breaks `certbot --eab-hmac-key KEY` (read as an option); 1 random
// key in 64 would, so 600 keys without one show the redraw works.
TEST_F(AcmeMinterTest, NoEabKeyStartsWithADash) {
  issuing::IssueRequest r = certRequest();
  r.kind = policies::CredentialKind::kAcmeAccount;
  r.csr.clear();
  for (int i = 0; i < 600; ++i) {
    auto out = issue(r);
    ASSERT_TRUE(out);
    auto* issued = std::get_if<issuing::Issued>(&*out);
    ASSERT_NE(issued, nullptr) << "mint " << i;
    ASSERT_NE(std::string(issued->fields.at("hmac_key").as_string()).front(), '-') << "mint " << i;
  }
}

TEST_F(AcmeMinterTest, AGrantWithoutACertificateSectionGetsNoEabKey) {
  issuing::IssueRequest r = tokenRequest();  // grant "deploy": tokens only
  r.kind = policies::CredentialKind::kAcmeAccount;
  auto out = issue(r);
  ASSERT_TRUE(out);
  auto* denial = std::get_if<issuing::Denial>(&*out);
  ASSERT_NE(denial, nullptr);
  EXPECT_EQ(denial->rule, "credential.kind");
  EXPECT_TRUE(inserted_.empty());
}

TEST_F(AcmeMinterTest, ACertificateForAnOrderCarriesExactlyItsNamesAndNoneOutsideTheGrant) {
  issuing::IssueRequest r = certRequest();
  r.dns_names = {"svc.example"};
  auto out = issue(r);
  ASSERT_TRUE(out);
  ASSERT_NE(std::get_if<issuing::Issued>(&*out), nullptr);
  EXPECT_EQ(cert_request_.dns_sans, (std::vector<std::string>{"svc.example"}));
  EXPECT_TRUE(cert_request_.uri_sans.empty());

  inserted_.clear();
  r.dns_names = {"svc.example", "evil.example"};
  out = issue(r);
  ASSERT_TRUE(out);
  auto* st = std::get_if<core::Status>(&*out);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->code(), core::Code::kPermissionDenied);
  EXPECT_NE(st->message().find("evil.example"), std::string::npos);
  EXPECT_TRUE(inserted_.empty());
}

}  // namespace
}  // namespace jitb::testing
