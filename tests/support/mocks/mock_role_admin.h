// gmock stand-in for downstream::RoleAdmin (one PostgreSQL database's login roles).
#pragma once

#include <gmock/gmock.h>

#include "broker/downstream/role_admin.h"

namespace jitb::testing {

class MockRoleAdmin : public downstream::RoleAdmin {
 public:
  MOCK_METHOD(core::Status, createRole, (const downstream::NewRole&), (override));
  MOCK_METHOD(core::Status, disableLogin, (const std::string&), (override));
  MOCK_METHOD(core::Status, revokeMembership, (const std::string&, const std::vector<std::string>&),
              (override));
  MOCK_METHOD(core::StatusOr<int>, terminateSessions, (const std::string&), (override));
  MOCK_METHOD(core::StatusOr<int>, countSessions, (const std::string&), (override));
  MOCK_METHOD(core::Status, dropOwned, (const std::string&), (override));
  MOCK_METHOD(core::Status, dropRole, (const std::string&), (override));
  MOCK_METHOD(core::StatusOr<bool>, roleExists, (const std::string&), (override));
  MOCK_METHOD(core::StatusOr<std::vector<std::string>>, brokerRoles, (), (override));
};

}  // namespace jitb::testing
