#include "broker/downstream/database_revoker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/support/mocks/mock_role_admin.h"
#include "tests/unit/leases/fixture.h"

namespace jitb::downstream {
namespace {

using ::testing::_;
using ::testing::Return;

class DatabaseRevokerTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    revoker_ = std::make_unique<DatabaseRevoker>(
        *store_, audit_, clock_, std::map<std::string, RoleAdmin*>{{"orders", &admin_}});
  }
  // A database lease of `ticket`, as the minter records it.
  std::string dbLease(const std::string& id, const std::string& ticket, bool activated = true) {
    store::LeaseRow l = lease(id, ticket, 3'600'000);
    l.kind = store::LeaseKind::kDatabase;
    l.jti.clear();
    boost::json::object claims{{"database", "orders"}, {"roles", boost::json::array{"orders_ro"}}};
    if (activated) claims["activated"] = true;
    l.claims = boost::json::serialize(claims);
    EXPECT_TRUE(store_->insertLease(l).ok());
    return id;
  }
  boost::json::object revocation(const std::string& id) {
    auto l = store_->getLease(id);
    boost::json::value v = boost::json::parse(l.value()->claims);
    return v.as_object().at("revocation").as_object();
  }
  // Every step succeeds; `log` records the calls in order.
  void allSucceed() {
    ON_CALL(admin_, disableLogin(_)).WillByDefault([this](const std::string& r) {
      log_.push_back("nologin " + r);
      return core::okStatus();
    });
    ON_CALL(admin_, revokeMembership(_, _)).WillByDefault(Return(core::okStatus()));
    ON_CALL(admin_, terminateSessions(_)).WillByDefault(Return(1));
    ON_CALL(admin_, countSessions(_)).WillByDefault(Return(0));
    ON_CALL(admin_, dropOwned(_)).WillByDefault([this](const std::string& r) {
      log_.push_back("drop " + r);
      return core::okStatus();
    });
    ON_CALL(admin_, dropRole(_)).WillByDefault(Return(core::okStatus()));
    ON_CALL(admin_, roleExists(_)).WillByDefault(Return(false));
  }

  ::testing::NiceMock<testing::MockRoleAdmin> admin_;
  std::unique_ptr<DatabaseRevoker> revoker_;
  std::vector<std::string> log_;
};

TEST_F(DatabaseRevokerTest, ATicketCloseCutsEveryRoleBeforeDroppingAnyAndRecordsIt) {
  allSucceed();
  dbLease("lease_a", "T-1");
  dbLease("lease_b", "T-1");
  // Written in the revocation's transaction, hooks enabled or not; not a hook job.
  ASSERT_EQ(store_->revokeTicket("T-1", "ticket_closed", nowMs()).value().size(), 2u);
  EXPECT_TRUE(store_->dueJobs(nowMs(), 10).value().empty());
  ASSERT_EQ(store_->dueJobsOf("database", nowMs(), 10).value().size(), 2u);

  EXPECT_EQ(revoker_->runOnce(nowMs()), 2u);
  EXPECT_EQ(log_, (std::vector<std::string>{"nologin jitb_lease_a", "nologin jitb_lease_b",
                                            "drop jitb_lease_a", "drop jitb_lease_b"}));
  boost::json::object rev = revocation("lease_a");
  EXPECT_EQ(rev.at("login_disabled"), true);
  EXPECT_EQ(rev.at("sessions_terminated"), 1);
  EXPECT_EQ(rev.at("role_dropped"), true);
  EXPECT_FALSE(rev.contains("error"));
  EXPECT_EQ(audit_.count("database.role_dropped"), 2u);
  EXPECT_EQ(revoker_->runOnce(nowMs() + 10'000'000), 0u);  // finished: never run again
}

TEST_F(DatabaseRevokerTest, AFailedStepIsRetriedLaterAndShownInTheLease) {
  allSucceed();
  dbLease("lease_a", "T-2");
  ASSERT_TRUE(store_->revokeTicket("T-2", "ticket_closed", nowMs()).ok());
  EXPECT_CALL(admin_, disableLogin("jitb_lease_a"))
      .WillOnce(Return(core::Status(core::Code::kUnavailable, "database unreachable",
                                    "connection refused")))
      .WillOnce(Return(core::okStatus()));
  EXPECT_EQ(revoker_->runOnce(nowMs()), 0u);
  EXPECT_EQ(revocation("lease_a").at("error"), "disable login: connection refused");
  EXPECT_EQ(revoker_->runOnce(nowMs()), 0u);  // backing off
  EXPECT_EQ(revoker_->runOnce(nowMs() + 2'000), 1u);
  EXPECT_EQ(revocation("lease_a").at("role_dropped"), true);
}

TEST_F(DatabaseRevokerTest, AnExpiredLeaseIsRevokedToo) {
  allSucceed();
  dbLease("lease_a", "T-3");
  clock_.advance(std::chrono::hours(2));
  ASSERT_EQ(store_->expireDue(nowMs()).value().size(), 1u);
  EXPECT_CALL(admin_, dropRole("jitb_lease_a"));
  EXPECT_EQ(revoker_->runOnce(nowMs()), 1u);
}

TEST_F(DatabaseRevokerTest, TheReaperDropsRolesWithoutAnActiveLeaseOnly) {
  allSucceed();
  dbLease("lease_live", "T-4");
  dbLease("lease_ended", "T-5");
  ASSERT_TRUE(store_->endLease("lease_ended", store::LeaseState::kRevoked, "admin", nowMs()).ok());
  EXPECT_CALL(admin_, brokerRoles())
      .WillOnce(Return(std::vector<std::string>{"jitb_lease_ended", "jitb_lease_live",
                                                "jitb_lease_unknown"}));
  EXPECT_CALL(admin_, dropRole("jitb_lease_live")).Times(0);
  EXPECT_CALL(admin_, dropRole("jitb_lease_ended"));
  EXPECT_CALL(admin_, dropRole("jitb_lease_unknown"));
  EXPECT_EQ(revoker_->reap(nowMs()), 2u);
  EXPECT_EQ(audit_.count("database.role_reaped"), 2u);
}

TEST_F(DatabaseRevokerTest, ARoleNeverHandedOutLosesItsLeaseAfterTheGrace) {
  allSucceed();
  dbLease("lease_x", "T-6", /*activated=*/false);
  EXPECT_CALL(admin_, brokerRoles())
      .WillRepeatedly(Return(std::vector<std::string>{"jitb_lease_x"}));
  // Within the grace its activation may still be under way (another replica's request).
  EXPECT_EQ(revoker_->reap(nowMs()), 0u);
  EXPECT_EQ(store_->getLease("lease_x").value()->state, store::LeaseState::kActive);
  EXPECT_CALL(admin_, dropRole("jitb_lease_x"));
  revoker_->reap(nowMs() + 11'000);
  auto l = store_->getLease("lease_x").value();
  EXPECT_EQ(l->state, store::LeaseState::kRevoked);
  EXPECT_EQ(l->reason, "activation_interrupted");
  EXPECT_EQ(revocation("lease_x").at("role_dropped"), true);
}

}  // namespace
}  // namespace jitb::downstream
