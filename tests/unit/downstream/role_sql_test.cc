#include "broker/downstream/role_sql.h"

#include <gtest/gtest.h>

namespace jitb::downstream {
namespace {

const StandardQuoter q;

TEST(RoleSql, QuotesIdentifiersAndLiteralsAsLibpqDoes) {
  EXPECT_EQ(q.ident("orders_ro"), "\"orders_ro\"");
  EXPECT_EQ(q.ident("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(q.literal("it's"), "'it''s'");
  // A backslash makes an E'' string (with the leading space PQescapeLiteral writes).
  EXPECT_EQ(q.literal("a\\b'"), " E'a\\\\b'''");
}

TEST(RoleSql, RoleNamesComeFromTheLeaseIdAndMapBack) {
  std::string role = roleNameFor("lease_0190aabbccdd0123456789");
  EXPECT_EQ(role, "jitb_lease_0190aabbccdd0123456789");
  EXPECT_EQ(leaseIdOfRole(role), "lease_0190aabbccdd0123456789");
  // Anything outside [a-z0-9_] cannot reach the SQL as part of a name; the length stays
  // within PostgreSQL's 63 bytes.
  EXPECT_EQ(roleNameFor("Lease_AB\"; DROP--"), "jitb_lease_ab___drop__");
  EXPECT_EQ(roleNameFor(std::string(100, 'a')).size(), 63u);
  // Only the broker's own names: another role that starts with jitb_ is never reaped.
  EXPECT_EQ(leaseIdOfRole("jitb_test"), "");
  EXPECT_EQ(leaseIdOfRole("orders_ro"), "");
}

TEST(RoleSql, CreateRoleGrantsLoginAndTheGroupsOnly) {
  NewRole r{"jitb_lease_01", "pa'ss", {"orders_ro", "odd\"group"}, 0, 7};
  EXPECT_EQ(createRoleSql(r, q),
            "CREATE ROLE \"jitb_lease_01\" LOGIN PASSWORD 'pa''ss' VALID UNTIL "
            "'1970-01-01T00:00:00Z' CONNECTION LIMIT 7 NOSUPERUSER NOCREATEROLE NOCREATEDB "
            "NOREPLICATION NOBYPASSRLS INHERIT IN ROLE \"orders_ro\", \"odd\"\"group\"");
  r.member_of.clear();
  r.valid_until_ms = 1'700'000'000'000;
  EXPECT_EQ(createRoleSql(r, q).find("IN ROLE"), std::string::npos);
  EXPECT_NE(createRoleSql(r, q).find("VALID UNTIL '2023-11-14T22:13:20Z'"), std::string::npos);
}

TEST(RoleSql, RevocationStatements) {
  EXPECT_EQ(disableLoginSql("jitb_lease_01", q), "ALTER ROLE \"jitb_lease_01\" NOLOGIN PASSWORD NULL");
  EXPECT_EQ(revokeMembershipSql("jitb_lease_01", {"a", "b"}, q),
            "REVOKE \"a\", \"b\" FROM \"jitb_lease_01\"");
  EXPECT_EQ(revokeMembershipSql("jitb_lease_01", {}, q), "");
  // Sessions are found by their login (usename), which SET ROLE does not change.
  EXPECT_EQ(terminateSessionsSql("x'y", q),
            "SELECT count(*) FILTER (WHERE signalled) FROM (SELECT pg_terminate_backend(pid) AS "
            "signalled FROM pg_stat_activity WHERE usename = 'x''y' AND pid <> pg_backend_pid()) s");
  EXPECT_EQ(dropOwnedSql("r", q),
            "GRANT \"r\" TO CURRENT_USER; REASSIGN OWNED BY \"r\" TO CURRENT_USER; DROP OWNED BY \"r\"");
  EXPECT_EQ(dropRoleSql("r", q), "DROP ROLE IF EXISTS \"r\"");
  EXPECT_EQ(brokerRolesSql(q),
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, 'jitb_lease_') ORDER BY rolname");
}

}  // namespace
}  // namespace jitb::downstream
