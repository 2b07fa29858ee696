// Operator tokens: leases of kind operator, kept as a digest, refused once revoked or expired.
#include "broker/operators/operator_tokens.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/core/encoding.h"
#include "tests/unit/leases/fixture.h"

namespace jitb::operators {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

class OperatorTokensTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    leases_ = std::make_unique<leases::LeaseManager>(*store_, audit_, clock_, leases::Quotas{},
                                                     metrics_);
    ASSERT_TRUE(leases_->start().ok());
    tokens_ = std::make_unique<OperatorTokens>(*store_, *leases_, audit_, clock_);
  }
  void TearDown() override {
    tokens_.reset();
    leases_.reset();
    StoreFixture::TearDown();
  }
  std::optional<Operator> verified(const std::string& token) {
    auto v = tokens_->verify(token);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? *v : std::nullopt;
  }

  const Operator admin_file_{Role::kAdmin, "admin.token", ""};
  std::unique_ptr<leases::LeaseManager> leases_;
  std::unique_ptr<OperatorTokens> tokens_;
};

TEST_F(OperatorTokensTest, AnIssuedTokenIsAnOperatorLeaseKeptOnlyAsItsDigest) {
  auto made = tokens_->issue(Role::kAuditor, "carol", hours(8), admin_file_);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(made->token.rfind("jbo_", 0), 0u);
  auto who = verified(made->token);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->role, Role::kAuditor);
  EXPECT_EQ(who->name, "carol");
  EXPECT_EQ(who->lease_id, made->lease_id);

  auto row = store_->getLease(made->lease_id).value();
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->kind, store::LeaseKind::kOperator);
  EXPECT_EQ(row->grant, "auditor");
  EXPECT_EQ(row->subject, "carol");
  EXPECT_EQ(row->expires_at, nowMs() + 8 * 3600 * 1000);
  EXPECT_EQ(row->jti, "op:" + core::hexEncode(core::sha256(made->token)));
  EXPECT_EQ(row->jti.find(made->token.substr(4)), std::string::npos);
}

TEST_F(OperatorTokensTest, TheIssueIsAuditedWithWhoAskedAndWithoutTheToken) {
  Operator dave{Role::kAdmin, "dave", "lease_dave"};
  auto made = tokens_->issue(Role::kAdmin, "erin", hours(1), dave);
  ASSERT_TRUE(made.ok());
  auto records = audit_.records();
  ASSERT_EQ(records.size(), 1u);
  const auto& f = records[0].fields;
  EXPECT_EQ(records[0].event, "operator_token.issued");
  EXPECT_EQ(f.at("lease").as_string(), made->lease_id);
  EXPECT_EQ(f.at("role").as_string(), "admin");
  EXPECT_EQ(f.at("by").as_string(), "dave");
  EXPECT_EQ(f.at("by_lease").as_string(), "lease_dave");
  EXPECT_EQ(boost::json::serialize(f).find(made->token), std::string::npos);
}

TEST_F(OperatorTokensTest, UnknownAndMalformedTokensAreNobody) {
  ASSERT_TRUE(tokens_->issue(Role::kAdmin, "dave", hours(1), admin_file_).ok());
  EXPECT_FALSE(verified("").has_value());
  EXPECT_FALSE(verified("jbo_").has_value());
  EXPECT_FALSE(verified("jbo_" + std::string(64, '0')).has_value());
  EXPECT_FALSE(verified("deadbeef").has_value());
}

TEST_F(OperatorTokensTest, ARevokedTokenIsRefusedAtOnce) {
  auto made = tokens_->issue(Role::kAdmin, "dave", hours(1), admin_file_);
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(verified(made->token).has_value());
  ASSERT_TRUE(leases_->revokeLease(made->lease_id, "admin").value());
  EXPECT_FALSE(verified(made->token).has_value());
}

TEST_F(OperatorTokensTest, AnExpiredTokenIsRefusedBeforeItsTimerRuns) {
  auto made = tokens_->issue(Role::kAuditor, "carol", seconds(30), admin_file_);
  ASSERT_TRUE(made.ok());
  clock_.advance(seconds(29));
  EXPECT_TRUE(verified(made->token).has_value());
  clock_.advance(seconds(1));
  // The lease is still active in the store (no processDue yet), and yet the token is refused.
  EXPECT_EQ(store_->getLease(made->lease_id).value()->state, store::LeaseState::kActive);
  EXPECT_FALSE(verified(made->token).has_value());
  leases_->processDue(nowMs());
  EXPECT_EQ(store_->getLease(made->lease_id).value()->state, store::LeaseState::kExpired);
}

TEST_F(OperatorTokensTest, BadNamesAndLifetimesAreRefusedAndNothingIsRecorded) {
  EXPECT_EQ(tokens_->issue(Role::kAdmin, "", hours(1), admin_file_).status().code(),
            core::Code::kInvalidArgument);
  EXPECT_EQ(tokens_->issue(Role::kAdmin, std::string(129, 'x'), hours(1), admin_file_)
                .status().code(),
            core::Code::kInvalidArgument);
  EXPECT_EQ(tokens_->issue(Role::kAdmin, "x", milliseconds(0), admin_file_).status().code(),
            core::Code::kInvalidArgument);
  EXPECT_EQ(tokens_->issue(Role::kAdmin, "x", OperatorTokens::kMaxTtl + seconds(1), admin_file_)
                .status().code(),
            core::Code::kInvalidArgument);
  EXPECT_TRUE(store_->listLeases({}).value().empty());
  EXPECT_TRUE(audit_.records().empty());
}

TEST_F(OperatorTokensTest, ARestartKeepsOperatorLeasesThatHaveNoTicket) {
  // The lease manager ends, at start, the leases whose ticket is unknown; an operator lease has
  // none and must outlive a restart.
  auto made = tokens_->issue(Role::kAdmin, "dave", hours(1), admin_file_);
  ASSERT_TRUE(made.ok());
  leases_.reset();
  leases::LeaseManager again(*store_, audit_, clock_, leases::Quotas{}, metrics_);
  ASSERT_TRUE(again.start().ok());
  EXPECT_EQ(store_->getLease(made->lease_id).value()->state, store::LeaseState::kActive);
  tokens_ = std::make_unique<OperatorTokens>(*store_, again, audit_, clock_);
  EXPECT_TRUE(verified(made->token).has_value());
  tokens_.reset();
  again.stop();
}

TEST(RoleTest, NamesRoundTrip) {
  EXPECT_EQ(roleFromString(toString(Role::kAdmin)), Role::kAdmin);
  EXPECT_EQ(roleFromString(toString(Role::kAuditor)), Role::kAuditor);
  EXPECT_FALSE(roleFromString("root").has_value());
  EXPECT_FALSE(roleFromString("Admin").has_value());
}

}  // namespace
}  // namespace jitb::operators
