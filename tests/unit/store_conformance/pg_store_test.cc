// PgStore's own behaviour beyond the conformance suite: migrations, claims of hook jobs across
// replicas, the status mapping, and what libpq is handed.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <thread>

#include "broker/store/postgres/pg_conn.h"
#include "broker/store/postgres/pg_migrations.h"
#include "tests/unit/store_conformance/pg_env.h"
#include "tests/unit/store_conformance/races.h"

namespace jitb::store {
namespace {

using conformance::PgEnv;

std::unique_ptr<PgEnv> freshEnv(PgOptions options = {}) {
  auto env = PgEnv::create(options);
  EXPECT_TRUE(env.ok()) << env.status().message();
  return env.ok() ? std::move(*env) : nullptr;
}

PgOptions small(size_t conns, size_t workers) {
  PgOptions o;
  o.max_connections = conns;
  o.async_workers = workers;
  return o;
}

std::unique_ptr<pg::Conn> connect(const std::string& uri) {
  auto c = pg::Conn::connect(uri, 5);
  EXPECT_TRUE(c.ok()) << c.status().detail();
  return c.ok() ? std::move(*c) : nullptr;
}

TEST(PgStore, AnEmptySchemaShowsEveryMigrationPendingAndOpenAppliesThem) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto before = pg::readSchemaVersion(env->uri());
  ASSERT_TRUE(before.ok()) << before.status().detail();
  EXPECT_EQ(before->current, 0);
  EXPECT_EQ(before->latest, pg::latestSchemaVersion());
  ASSERT_EQ(before->pending.size(), static_cast<size_t>(pg::latestSchemaVersion()));
  EXPECT_EQ(before->pending.front(), "0001_schema.sql");
  ASSERT_TRUE(env->openPg().ok());
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  auto after = pg::readSchemaVersion(*c);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->current, pg::latestSchemaVersion());
  EXPECT_TRUE(after->pending.empty());
}

TEST(PgStore, ReplicasStartingTogetherMigrateOnce) {
  auto env = freshEnv(small(2, 1));
  ASSERT_TRUE(env);
  constexpr int kReplicas = 5;
  std::vector<core::Status> results(kReplicas);
  conformance::onThreads(kReplicas, [&](int i) { results[i] = env->openPg().status(); });
  for (const auto& st : results) EXPECT_TRUE(st.ok()) << st.message() << ": " << st.detail();
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  auto rows = c->query("SELECT count(*), max(version) FROM schema_version", {}, "versions");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->int64(0, 0), pg::latestSchemaVersion());
  EXPECT_EQ(rows->int64(0, 1), pg::latestSchemaVersion());
}

TEST(PgStore, ASchemaNewerThanTheBinaryIsRefused) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->openPg().ok());
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->exec("INSERT INTO schema_version (version, name) VALUES (9999, '9999_future.sql')",
                      "future")
                  .ok());
  auto s = env->openPg();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().detail().find("newer than this binary"), std::string::npos)
      << s.status().detail();
}

// A database at schema 1 (active leases found by partial indexes on state) migrates to the
// active set: its active leases are ended by a ticket close and the expiry sweep, and its revoked
// certificates stay on the CRL.
TEST(PgStore, LeasesOfSchemaOneAreInTheActiveSetAfterMigrating) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  auto v1 = pg::migrate(*c, 1);
  ASSERT_TRUE(v1.ok()) << v1.status().detail();
  ASSERT_EQ(v1->current, 1);
  // Rows as schema 1 held them: two active tokens, one revoked certificate.
  ASSERT_TRUE(c->exec("INSERT INTO leases (id, kind, ticket, grant_name, subject, state, "
                      "issued_at, expires_at, jti, serial) VALUES "
                      "('A1', 0, 'T1', 'g', 'alice', 0, 1, 10000, 'j1', NULL), "
                      "('A2', 0, 'T2', 'g', 'alice', 0, 1, 50, 'j2', NULL), "
                      "('C1', 1, 'T3', 'g', 'alice', 2, 1, 90000, NULL, 'ab01')",
                      "schema 1 rows")
                  .ok());
  auto s = env->openPg();
  ASSERT_TRUE(s.ok()) << s.status().detail();
  auto closed = (*s)->revokeTicket("T1", "ticket_closed", 20);
  ASSERT_TRUE(closed.ok());
  ASSERT_EQ(closed->size(), 1u);
  EXPECT_EQ((*closed)[0].id, "A1");
  auto expired = (*s)->expireDue(100);
  ASSERT_TRUE(expired.ok());
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].id, "A2");
  auto crl = (*s)->revokedUnexpiredCertificates(100);
  ASSERT_TRUE(crl.ok());
  ASSERT_EQ(crl->size(), 1u);
  EXPECT_EQ((*crl)[0].id, "C1");
}

// A database from before lease_ends (0016): its active certificate's end returns the serial
// that lease_active did not hold then, and puts it on the CRL; a lease that ended before keeps
// its end; a new end is a row of lease_ends and leaves the lease's own row as issued.
TEST(PgStore, LeasesFromBeforeLeaseEndsEndAndReadAsTheyDid) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  const int ends_version = conformance::migrationVersion("_lease_ends.sql");
  ASSERT_GT(ends_version, 1);
  ASSERT_TRUE(pg::migrate(*c, ends_version - 1).ok());
  ASSERT_TRUE(c->exec("INSERT INTO leases (id, kind, ticket, grant_name, subject, state, "
                      "issued_at, expires_at, ended_at, reason, jti, serial) VALUES "
                      "('C1', 1, 'T1', 'g', 'alice', 0, 1, 90000, 0, '', NULL, 'ab01'), "
                      "('A1', 0, 'T1', 'g', 'alice', 0, 1, 90000, 0, '', 'j1', NULL), "
                      "('A0', 0, 'T1', 'g', 'alice', 1, 1, 50, 50, 'ttl', 'j0', NULL); "
                      "INSERT INTO lease_active (id, ticket, subject, expires_at) VALUES "
                      "('C1', 'T1', 'alice', 90000), ('A1', 'T1', 'alice', 90000)",
                      "rows before lease_ends")
                  .ok());
  auto s = env->openPg();
  ASSERT_TRUE(s.ok()) << s.status().detail();
  auto closed = (*s)->revokeTicket("T1", "ticket_closed", 200);
  ASSERT_TRUE(closed.ok());
  ASSERT_EQ(closed->size(), 2u);
  for (const EndedLease& e : *closed) {
    if (e.id == "C1") {
      EXPECT_EQ(e.kind, LeaseKind::kCertificate);
      EXPECT_EQ(e.serial, "ab01");
    } else {
      EXPECT_EQ(e.id, "A1");
      EXPECT_EQ(e.jti, "j1");
    }
  }
  auto crl = (*s)->revokedUnexpiredCertificates(100);
  ASSERT_TRUE(crl.ok());
  ASSERT_EQ(crl->size(), 1u);
  EXPECT_EQ((*crl)[0].serial, "ab01");
  EXPECT_EQ((*crl)[0].state, LeaseState::kRevoked);
  auto a0 = (*s)->findLeaseByJti("j0");
  ASSERT_TRUE(a0.ok() && a0->has_value());
  EXPECT_EQ((*a0)->state, LeaseState::kExpired);
  EXPECT_EQ((*a0)->reason, "ttl");
  auto a1 = (*s)->getLease("A1");
  ASSERT_TRUE(a1.ok() && a1->has_value());
  EXPECT_EQ((*a1)->state, LeaseState::kRevoked);
  EXPECT_EQ((*a1)->ended_at, 200);
  EXPECT_EQ((*a1)->reason, "ticket_closed");
  auto raw = c->query("SELECT (SELECT count(*) FROM leases WHERE state = 0), "
                      "(SELECT count(*) FROM lease_ends), (SELECT count(*) FROM lease_active)",
                      {}, "raw rows");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->int64(0, 0), 2);
  EXPECT_EQ(raw->int64(0, 1), 2);
  EXPECT_EQ(raw->int64(0, 2), 0);
}

// Two replicas' dispatchers polling at once: each due job goes to one of them, and comes back
// only when its claim times out (the claimer presumed dead) or is retried.
TEST(PgStore, DueJobsAreClaimedByOneReplicaUntilTheClaimTimesOut) {
  PgOptions opts;
  opts.job_claim_ms = 60'000;
  auto env = freshEnv(opts);
  ASSERT_TRUE(env);
  auto a = env->openPg();
  auto b = env->openPg();
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->enableRevocationJobs();
  constexpr int kJobs = 1000;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) {
    LeaseRow l;
    l.id = "L" + std::to_string(i);
    l.ticket = "T";
    l.jti = "j" + l.id;
    l.expires_at = 10'000;
    ASSERT_TRUE((*a)->insertLease(l).ok());
    ids.push_back(l.id);
  }
  ASSERT_EQ((*a)->endLeases(ids, LeaseState::kRevoked, "r", 1000).value().size(), ids.size());
  std::vector<std::vector<JobRow>> got(4);
  conformance::onThreads(4, [&](int n) {
    PgStore& s = n % 2 ? **b : **a;
    for (;;) {
      auto due = s.dueJobs(2000, 2);
      ASSERT_TRUE(due.ok()) << due.status().detail();
      if (due->empty()) return;
      got[n].insert(got[n].end(), due->begin(), due->end());
    }
  });
  std::multiset<std::string> claimed;
  size_t claim_times = 0;  // jobs handed out with the claim's time rather than their own (1000)
  for (const auto& g : got)
    for (const auto& j : g) {
      claimed.insert(j.lease_id);
      claim_times += j.next_at != 1000;
    }
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), claimed.size())
      << "a job was handed to two claimers";
  EXPECT_EQ(claim_times, 0u);
  EXPECT_TRUE((*b)->dueJobs(2000 + 59'999, kJobs).value().empty());
  EXPECT_EQ((*b)->dueJobs(2000 + 60'000, kJobs).value().size(), static_cast<size_t>(kJobs));
}

TEST(PgStore, AServerThatIsGoneIsUnavailable) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto s = PgStore::open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), core::Code::kUnavailable);
}

TEST(PgStore, MultiHostUrisReachTheHostThatAnswers) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  std::string uri = env->uri();
  const size_t at = uri.find('@');
  ASSERT_NE(at, std::string::npos);
  uri.insert(at + 1, "127.0.0.1:1,");  // a first host that refuses, as a dead primary would
  uri += "&target_session_attrs=read-write";
  auto s = PgStore::open(uri);
  ASSERT_TRUE(s.ok()) << s.status().detail();
  EXPECT_EQ(*(*s)->nextCounter("c"), 1);
}

TEST(PgStore, ALostConnectionIsUnavailableOnceThenTheStoreReconnects) {
  auto env = freshEnv(small(1, 0));
  ASSERT_TRUE(env);
  const std::string app = "jitb_" + env->schema();
  auto s = PgStore::open(env->uri() + "&application_name=" + app, small(1, 0));
  ASSERT_TRUE(s.ok()) << s.status().detail();
  ASSERT_TRUE((*s)->getTicket("T").ok());  // the pooled connection is open
  auto admin = connect(env->serverUri());
  ASSERT_TRUE(admin);
  auto killed = admin->query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
      {app}, "terminate");
  ASSERT_TRUE(killed.ok()) << killed.status().detail();
  ASSERT_EQ(killed->int64(0, 0), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server closes the socket
  auto lost = (*s)->getTicket("T");
  EXPECT_EQ(lost.status().code(), core::Code::kUnavailable);
  auto back = (*s)->getTicket("T");
  EXPECT_TRUE(back.ok()) << back.status().detail();
}

TEST(PgStore, SqlStatesMapOntoTheStatusVocabulary) {
  using core::Code;
  EXPECT_EQ(pg::statusFromSqlState("40001", "").code(), Code::kUnavailable);  // serialization
  EXPECT_EQ(pg::statusFromSqlState("40P01", "").code(), Code::kUnavailable);  // deadlock
  EXPECT_EQ(pg::statusFromSqlState("08006", "").code(), Code::kUnavailable);  // connection
  EXPECT_EQ(pg::statusFromSqlState("57P01", "").code(), Code::kUnavailable);  // shutdown
  EXPECT_EQ(pg::statusFromSqlState("25006", "").code(), Code::kUnavailable);  // standby
  EXPECT_EQ(pg::statusFromSqlState("53100", "").code(), Code::kUnavailable);  // disk full
  EXPECT_EQ(pg::statusFromSqlState("23505", "").code(), Code::kInternal);     // unique
  EXPECT_EQ(pg::statusFromSqlState("42P01", "").code(), Code::kInternal);     // a bug
  // The user's message never carries the server's text.
  EXPECT_EQ(pg::statusFromSqlState("08006", "secret detail").message().find("secret"),
            std::string::npos);
}

// Migration 0015 sets lz4 where a server has it (the test server has); its handler also
// swallows a syntax error (servers before 14), so a typo there would pass unseen but for this.
TEST(PgStore, LargeColumnsCompressWithLz4) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->openPg().ok());
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  auto r = c->query(
      "SELECT count(*) FROM pg_attribute WHERE attcompression = 'l' AND attrelid IN "
      "('audit_records'::regclass, 'revocation_events'::regclass, 'leases'::regclass) AND "
      "attname IN ('record', 'lease_ids', 'claims', 'caller_claims')",
      {}, "compression");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->int64(0, 0), 4);
}

// insert_leases keeps the generic plan of 0015 through 0016's CREATE OR REPLACE, which drops
// the settings its definition does not name.
TEST(PgStore, InsertLeasesKeepsItsGenericPlan) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->openPg().ok());
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  auto r = c->query("SELECT count(*) FROM pg_proc WHERE proname = 'insert_leases' AND "
                    "'plan_cache_mode=force_generic_plan' = ANY(proconfig)",
                    {}, "insert_leases settings");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->int64(0, 0), 1);
}

// Arrays travel in the binary format: what the server reads is exactly what was sent, with the
// characters a text literal would have to escape, an empty string, multibyte text, and the
// integers' extremes; and a cast to another element type is refused, not misread.
TEST(PgStore, BinaryArraysReachTheServerAsSent) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  const std::vector<std::string> texts{"plain", "", "{\"a\":\"b,c\"}", "back\\slash", "NULL",
                                       "caf\xc3\xa9 \xe2\x9c\x93", std::string(5000, 'x')};
  auto r = c->query("SELECT u, n FROM unnest($1::text[]) WITH ORDINALITY AS x(u, n) ORDER BY n",
                    {pg::Param::array(texts)}, "texts");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  ASSERT_EQ(r->rows(), static_cast<int>(texts.size()));
  for (int i = 0; i < r->rows(); ++i) EXPECT_EQ(r->text(i, 0), texts[i]) << i;
  auto nulls = c->query("SELECT count(*) FROM unnest($1::text[]) AS u WHERE u IS NULL",
                        {pg::Param::array(texts)}, "no nulls");
  ASSERT_TRUE(nulls.ok());
  EXPECT_EQ(nulls->int64(0, 0), 0);  // "NULL" is a string here, as sent

  const std::vector<int64_t> big{0, -1, INT64_MIN, INT64_MAX, 1'700'000'000'000};
  const std::vector<int32_t> small{0, -1, INT32_MIN, INT32_MAX};
  auto ints = c->query("SELECT (SELECT string_agg(v::text, ',') FROM unnest($1::bigint[]) v), "
                       "(SELECT string_agg(v::text, ',') FROM unnest($2::int[]) v), "
                       "cardinality($3::text[])",
                       {pg::Param::array(big), pg::Param::array(small),
                        pg::Param::array(std::vector<std::string>{})},
                       "integers");
  ASSERT_TRUE(ints.ok()) << ints.status().detail();
  EXPECT_EQ(ints->text(0, 0),
            "0,-1,-9223372036854775808,9223372036854775807,1700000000000");
  EXPECT_EQ(ints->text(0, 1), "0,-1,-2147483648,2147483647");
  EXPECT_EQ(ints->int64(0, 2), 0);
  EXPECT_FALSE(c->query("SELECT cardinality($1::bigint[])", {pg::Param::array(small)}, "mismatch")
                   .ok());
}

}  // namespace
}  // namespace jitb::store
