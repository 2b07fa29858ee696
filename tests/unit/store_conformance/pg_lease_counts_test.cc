// PgStore's lease counts beyond the conformance suite: a database upgraded with active leases
// starts its counts from them.
#include <gtest/gtest.h>

#include <algorithm>

#include "broker/store/postgres/pg_conn.h"
#include "broker/store/postgres/pg_migrations.h"
#include "tests/support/store_rows.h"
#include "tests/unit/store_conformance/pg_env.h"

namespace jitb::store {
namespace {

TEST(PgLeaseCounts, TheMigrationCountsTheLeasesAlreadyActive) {
  auto env = conformance::PgEnv::create();
  ASSERT_TRUE(env.ok()) << env.status().message();
  auto conn = pg::Conn::connect((*env)->uri(), 5);
  ASSERT_TRUE(conn.ok()) << conn.status().detail();
  pg::Conn& c = **conn;
  // The schema as it was before the counts: every migration before theirs.
  const int counts_version = conformance::migrationVersion("_lease_counts.sql");
  ASSERT_GT(counts_version, 1);
  ASSERT_TRUE(pg::migrate(c, counts_version - 1).ok());
  ASSERT_TRUE(c.exec("INSERT INTO leases (id, kind, ticket, grant_name, subject, state, "
                     "issued_at, expires_at) VALUES ('a1', 0, 'T1', 'g', 'alice', 0, 1, 99000), "
                     "('a2', 0, 'T1', 'g', 'alice', 0, 1, 99000), ('a3', 0, 'T2', 'g', 'alice', "
                     "0, 1, 99000), ('a4', 0, 'T2', 'g', 'alice', 1, 1, 500), ('b1', 0, 'T2', "
                     "'g', 'bob', 0, 1, 99000); "
                     "INSERT INTO lease_active (id, ticket, expires_at) "
                     "SELECT id, ticket, expires_at FROM leases WHERE state = 0",
                     "old leases")
                  .ok());

  auto s = (*env)->openPg();
  ASSERT_TRUE(s.ok()) << s.status().message() << ": " << s.status().detail();
  (*s)->setLeaseQuotas({3, 3});
  auto leaseOf = [](const std::string& id, const std::string& ticket, const std::string& subject) {
    LeaseRow l = jitb::testing::leaseRow(id, ticket);
    l.subject = subject;
    return l;
  };
  // alice has three active (a4 ended), T2 three after b2 (a3, b1, b2).
  EXPECT_EQ(quotaRefused((*s)->insertLease(leaseOf("a5", "T3", "alice"))), "subject");
  ASSERT_TRUE((*s)->insertLease(leaseOf("b2", "T2", "bob")).ok());
  EXPECT_EQ(quotaRefused((*s)->insertLease(leaseOf("b3", "T2", "bob"))), "ticket");
  ASSERT_EQ((*s)->revokeTicket("T1", "ticket_closed", 2000).value().size(), 2u);
  EXPECT_TRUE((*s)->insertLease(leaseOf("a6", "T3", "alice")).ok());
  EXPECT_TRUE((*s)->insertLease(leaseOf("a7", "T3", "alice")).ok());
  EXPECT_EQ(quotaRefused((*s)->insertLease(leaseOf("a8", "T3", "alice"))), "subject");
}

}  // namespace
}  // namespace jitb::store
