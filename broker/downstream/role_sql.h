// The SQL of a lease's PostgreSQL login role, built as text because CREATE ROLE and its kin
// take no bind parameters: every name goes through Quoter::ident and every value through
// Quoter::literal (PQescapeIdentifier / PQescapeLiteral on the live connection).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace jitb::downstream {

// The broker's roles are kRolePrefix + a lease id ("lease_..."), so the reaper can tell them
// from everyone else's (kReapPrefix: never another role that happens to start with "jitb_").
inline constexpr std::string_view kRolePrefix = "jitb_";
inline constexpr std::string_view kReapPrefix = "jitb_lease_";

class Quoter {
 public:
  virtual ~Quoter() = default;
  virtual std::string ident(std::string_view name) const = 0;
  virtual std::string literal(std::string_view value) const = 0;
};

// The rules libpq applies with standard_conforming_strings on (PostgreSQL's default since 9.1):
// for tests, and for text that never reaches a server.
class StandardQuoter final : public Quoter {
 public:
  std::string ident(std::string_view name) const override;
  std::string literal(std::string_view value) const override;
};

// "jitb_" + the lease id in lowercase, with anything outside [a-z0-9_] as '_': a plain
// identifier of at most 63 bytes (PostgreSQL's NAMEDATALEN - 1). Lease ids ("lease_" + hex)
// map one to one.
std::string roleNameFor(std::string_view lease_id);
// The lease id a broker role was made for; "" when `role` does not start with kReapPrefix.
std::string leaseIdOfRole(std::string_view role);

struct NewRole {
  std::string name;
  std::string password;
  std::vector<std::string> member_of;  // existing group roles
  int64_t valid_until_ms = 0;          // Unix milliseconds
  int connection_limit = 10;
};

std::string createRoleSql(const NewRole& r, const Quoter& q);
std::string disableLoginSql(std::string_view role, const Quoter& q);
// "" when there is nothing to revoke.
std::string revokeMembershipSql(std::string_view role, const std::vector<std::string>& groups,
                                const Quoter& q);
// One row: how many of the role's sessions were sent the termination signal.
std::string terminateSessionsSql(std::string_view role, const Quoter& q);
std::string countSessionsSql(std::string_view role, const Quoter& q);
// The broker's login takes membership first: REASSIGN/DROP OWNED need the role's privileges.
std::string dropOwnedSql(std::string_view role, const Quoter& q);
std::string dropRoleSql(std::string_view role, const Quoter& q);
std::string roleExistsSql(std::string_view role, const Quoter& q);
// Every role whose name starts with kReapPrefix.
std::string brokerRolesSql(const Quoter& q);

}  // namespace jitb::downstream
