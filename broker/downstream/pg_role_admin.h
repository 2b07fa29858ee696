// RoleAdmin over one libpq connection to the database, opened on first use and again after
// it breaks. Statements run one at a time (a mutex): role changes are rare and short. The
// password of a new role passes through PQescapeLiteral into the statement and nowhere else:
// errors name the statement's kind, never its text.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "broker/downstream/role_admin.h"

struct pg_conn;

namespace jitb::downstream {

class PgRoleAdmin final : public RoleAdmin {
 public:
  // `dsn`: a libpq connection string or URI for the broker's login on that database.
  explicit PgRoleAdmin(std::string dsn, int connect_timeout_s = 3);
  ~PgRoleAdmin() override;

  core::Status createRole(const NewRole& role) override;
  core::Status disableLogin(const std::string& role) override;
  core::Status revokeMembership(const std::string& role,
                                const std::vector<std::string>& groups) override;
  core::StatusOr<int> terminateSessions(const std::string& role) override;
  core::StatusOr<int> countSessions(const std::string& role) override;
  core::Status dropOwned(const std::string& role) override;
  core::Status dropRole(const std::string& role) override;
  core::StatusOr<bool> roleExists(const std::string& role) override;
  core::StatusOr<std::vector<std::string>> brokerRoles() override;

 private:
  class LiveQuoter;
  // Runs the statement `build` makes (with a quoter on the live connection); rows go to `rows`.
  // `tolerate`: a SQLSTATE that counts as success (42704 undefined_object: the role is gone).
  template <class Build>
  core::StatusOr<std::vector<std::string>> run(const char* what, Build&& build,
                                               const char* tolerate = nullptr);
  core::Status connectLocked();

  std::string dsn_;
  int timeout_s_;
  std::mutex mu_;
  pg_conn* conn_ = nullptr;
};

}  // namespace jitb::downstream
