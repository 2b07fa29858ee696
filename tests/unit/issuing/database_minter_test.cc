// The database minter: what its lease records, and the role activate() asks for.
#include "broker/issuing/database_minter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/core/encoding.h"
#include "tests/support/mocks/mock_role_admin.h"
#include "tests/support/mocks/mock_store.h"

namespace jitb::testing {
namespace {

using ::testing::_;
using ::testing::Return;

class DatabaseMinterTest : public ::testing::Test {
 protected:
  DatabaseMinterTest()
      : minter_({{"orders", issuing::DatabaseTarget{&admin_, "db.internal", 6432, "orders_db", 4}}},
                store_) {
    decision_.allowed = true;
    decision_.grant = "dba";
    decision_.database = "orders";
    decision_.database_roles = {"orders_ro"};
    decision_.ttl = std::chrono::seconds(1800);
  }
  std::variant<issuing::Minted, issuing::MintRefusal> mint() {
    return minter_.mint({request_, ticket_, decision_, now_});
  }

  MockRoleAdmin admin_;
  MockStore store_;
  issuing::DatabaseMinter minter_;
  issuing::IssueRequest request_;
  tickets::Ticket ticket_;
  policies::Decision decision_;
  core::TimePoint now_ = std::chrono::system_clock::from_time_t(1'795'456'800);
};

TEST_F(DatabaseMinterTest, TheLeaseKeepsTheDatabaseRolesAndOnlyAHashOfThePassword) {
  auto m = mint();
  auto* minted = std::get_if<issuing::Minted>(&m);
  ASSERT_NE(minted, nullptr);
  const std::string password(minted->fields.at("password").as_string());
  EXPECT_EQ(password.size(), 43u);  // 32 random bytes, base64url without padding
  EXPECT_EQ(minted->lease.kind, store::LeaseKind::kDatabase);
  EXPECT_EQ(minted->lease.expires_at, core::unixMillis(now_) + 1'800'000);
  EXPECT_EQ(minted->lease.jti, "pgpw_" + core::hexEncode(core::sha256(password)));
  EXPECT_EQ(minted->lease.claims.find(password), std::string::npos);
  EXPECT_EQ(minted->lease.claims, R"({"database":"orders","roles":["orders_ro"]})");
  EXPECT_EQ(minted->fields.at("host"), "db.internal");
  EXPECT_EQ(minted->fields.at("port"), 6432);
  EXPECT_EQ(minted->fields.at("database"), "orders_db");
  EXPECT_EQ(minted->fields.at("valid_until"), "2026-11-23T18:30:00Z");
  auto again = mint();
  EXPECT_NE(std::string(std::get<issuing::Minted>(again).fields.at("password").as_string()), password);
}

TEST_F(DatabaseMinterTest, ActivateCreatesTheRoleNamedAfterTheLeaseThenMarksTheLease) {
  auto m = std::get<issuing::Minted>(mint());
  m.lease.id = "lease_0190aabbccdd0123456789";
  const std::string password(m.fields.at("password").as_string());
  EXPECT_CALL(admin_, createRole(_)).WillOnce([&](const downstream::NewRole& r) {
    EXPECT_EQ(r.name, "jitb_lease_0190aabbccdd0123456789");
    EXPECT_EQ(r.password, password);
    EXPECT_EQ(r.member_of, std::vector<std::string>{"orders_ro"});
    EXPECT_EQ(r.valid_until_ms, m.lease.expires_at);
    EXPECT_EQ(r.connection_limit, 4);
    return core::okStatus();
  });
  EXPECT_CALL(store_, updateLeaseClaims(m.lease.id, _)).WillOnce([](auto&, const std::string& c) {
    EXPECT_EQ(boost::json::parse(c).at("activated"), true);
    return core::okStatus();
  });
  ASSERT_TRUE(minter_.activate(m.lease, m.fields).ok());
  EXPECT_EQ(m.fields.at("username"), "jitb_lease_0190aabbccdd0123456789");
}

TEST_F(DatabaseMinterTest, ARefusedRoleIsUnavailableAndTheLeaseIsNotMarked) {
  auto m = std::get<issuing::Minted>(mint());
  m.lease.id = "lease_01";
  EXPECT_CALL(admin_, createRole(_))
      .WillOnce(Return(core::Status(core::Code::kUnavailable, "create role failed",
                                    "create role: 42501 permission denied")));
  EXPECT_CALL(store_, updateLeaseClaims).Times(0);
  core::Status st = minter_.activate(m.lease, m.fields);
  EXPECT_EQ(st.code(), core::Code::kUnavailable);
  EXPECT_FALSE(m.fields.contains("username"));
}

TEST_F(DatabaseMinterTest, ADatabaseMissingFromTheConfigIsRefused) {
  decision_.database = "payroll";
  auto m = mint();
  ASSERT_NE(std::get_if<issuing::MintRefusal>(&m), nullptr);
}

}  // namespace
}  // namespace jitb::testing
