#include "broker/downstream/role_revocation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/mocks/mock_role_admin.h"

namespace jitb::downstream {
namespace {

using ::testing::InSequence;
using ::testing::Return;

const std::string kRole = "jitb_lease_01";
const std::vector<std::string> kGroups{"orders_ro"};

RoleRevocation revocation(testing::MockRoleAdmin& admin) {
  return RoleRevocation(admin, kRole, kGroups, [](std::chrono::milliseconds) {});
}

TEST(RoleRevocation, CutsLoginThenMembershipThenSessionsThenDrops) {
  testing::MockRoleAdmin admin;
  {
    InSequence order;
    EXPECT_CALL(admin, disableLogin(kRole)).WillOnce(Return(core::okStatus()));
    EXPECT_CALL(admin, revokeMembership(kRole, kGroups)).WillOnce(Return(core::okStatus()));
    EXPECT_CALL(admin, terminateSessions(kRole)).WillOnce(Return(3));
    EXPECT_CALL(admin, countSessions(kRole)).WillOnce(Return(0));
    EXPECT_CALL(admin, dropOwned(kRole)).WillOnce(Return(core::okStatus()));
    EXPECT_CALL(admin, dropRole(kRole)).WillOnce(Return(core::okStatus()));
    EXPECT_CALL(admin, roleExists(kRole)).WillOnce(Return(false));
  }
  RevocationProgress p;
  auto r = revocation(admin);
  ASSERT_TRUE(r.cut(p));
  ASSERT_TRUE(r.drop(p));
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.sessions_terminated, 3);
  EXPECT_EQ(p.sessions_remaining, 0);
  EXPECT_EQ(p.error, "");
}

TEST(RoleRevocation, SignalsAgainUntilNoSessionRemains) {
  testing::MockRoleAdmin admin;
  EXPECT_CALL(admin, disableLogin(kRole)).WillOnce(Return(core::okStatus()));
  EXPECT_CALL(admin, revokeMembership(kRole, kGroups)).WillOnce(Return(core::okStatus()));
  EXPECT_CALL(admin, terminateSessions(kRole)).WillOnce(Return(2)).WillOnce(Return(1));
  EXPECT_CALL(admin, countSessions(kRole)).WillOnce(Return(1)).WillOnce(Return(0));
  RevocationProgress p;
  auto r = revocation(admin);
  ASSERT_TRUE(r.cut(p));
  EXPECT_EQ(p.sessions_terminated, 2);
  EXPECT_TRUE(p.cut());
}

TEST(RoleRevocation, GivesUpAfterItsRoundsAndSaysHowManySessionsAreLeft) {
  testing::MockRoleAdmin admin;
  EXPECT_CALL(admin, disableLogin(kRole)).WillOnce(Return(core::okStatus()));
  EXPECT_CALL(admin, revokeMembership(kRole, kGroups)).WillOnce(Return(core::okStatus()));
  EXPECT_CALL(admin, terminateSessions(kRole)).WillRepeatedly(Return(1));
  EXPECT_CALL(admin, countSessions(kRole)).Times(3).WillRepeatedly(Return(1));
  RevocationProgress p;
  auto r = revocation(admin);
  ASSERT_TRUE(r.startCut(p));
  EXPECT_FALSE(r.settleCut(p, 3));
  EXPECT_EQ(p.sessions_remaining, 1);
  EXPECT_EQ(p.error, "terminate sessions: 1 still open");
  EXPECT_FALSE(p.cut());
}

TEST(RoleRevocation, AFailedStepStopsTheCutAndKeepsWhatWasDone) {
  testing::MockRoleAdmin admin;
  EXPECT_CALL(admin, disableLogin(kRole)).WillOnce(Return(core::okStatus()));
  EXPECT_CALL(admin, revokeMembership(kRole, kGroups))
      .WillOnce(Return(core::Status(core::Code::kUnavailable, "revoke membership failed",
                                    "revoke membership: 42501 permission denied")));
  EXPECT_CALL(admin, terminateSessions).Times(0);
  RevocationProgress p;
  auto r = revocation(admin);
  EXPECT_FALSE(r.cut(p));
  EXPECT_TRUE(p.login_disabled);
  EXPECT_FALSE(p.membership_revoked);
  EXPECT_EQ(p.error, "revoke membership: revoke membership: 42501 permission denied");
}

TEST(RoleRevocation, ADropThatLeavesTheRoleIsNotDone) {
  testing::MockRoleAdmin admin;
  EXPECT_CALL(admin, dropOwned(kRole)).WillOnce(Return(core::okStatus()));
  EXPECT_CALL(admin, dropRole(kRole)).WillOnce(Return(core::okStatus()));
  EXPECT_CALL(admin, roleExists(kRole)).WillOnce(Return(true));
  RevocationProgress p;
  auto r = revocation(admin);
  EXPECT_FALSE(r.drop(p));
  EXPECT_FALSE(p.role_dropped);
  EXPECT_EQ(p.error, "drop role: the role still exists");
}

TEST(RevocationProgress, RoundTripsThroughTheLeaseJson) {
  RevocationProgress p;
  p.login_disabled = p.membership_revoked = true;
  p.sessions_terminated = 4;
  p.sessions_remaining = 0;
  p.error = "drop owned: x";
  boost::json::value v = p.toJson();
  RevocationProgress back = RevocationProgress::fromJson(&v);
  EXPECT_TRUE(back.cut());
  EXPECT_EQ(back.sessions_terminated, 4);
  EXPECT_FALSE(back.owned_dropped);
  EXPECT_EQ(RevocationProgress::fromJson(nullptr).sessions_remaining, -1);
}

}  // namespace
}  // namespace jitb::downstream
