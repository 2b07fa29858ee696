// One PostgreSQL database's login roles, as the broker's own login sees them: what the
// database minter and the revoker ask of it. An interface so their tests use a gmock mock
// (tests/support/mocks/mock_role_admin.h); PgRoleAdmin is the libpq one.
#pragma once

#include <string>
#include <vector>

#include "broker/core/status.h"
#include "broker/downstream/role_sql.h"

namespace jitb::downstream {

class RoleAdmin {
 public:
  virtual ~RoleAdmin() = default;
  // Unavailable when the database cannot be reached or refuses.
  virtual core::Status createRole(const NewRole& role) = 0;
  // Each of these succeeds when the role is already gone: a retried step repeats harmlessly.
  virtual core::Status disableLogin(const std::string& role) = 0;
  virtual core::Status revokeMembership(const std::string& role,
                                        const std::vector<std::string>& groups) = 0;
  // Signals every session the role logged in to end; returns how many it signalled. A backend
  // takes a moment to exit: countSessions shows those still there.
  virtual core::StatusOr<int> terminateSessions(const std::string& role) = 0;
  virtual core::StatusOr<int> countSessions(const std::string& role) = 0;
  virtual core::Status dropOwned(const std::string& role) = 0;
  virtual core::Status dropRole(const std::string& role) = 0;
  virtual core::StatusOr<bool> roleExists(const std::string& role) = 0;
  // The roles named with kReapPrefix.
  virtual core::StatusOr<std::vector<std::string>> brokerRoles() = 0;
};

}  // namespace jitb::downstream
