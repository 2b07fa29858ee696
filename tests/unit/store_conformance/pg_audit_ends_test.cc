// The records of lease ends on a real PostgreSQL that keeps the audit log (a replica's chain):
// the real lease manager over a PgStore with keepAuditAs. Each end path (a ticket's revocation,
// the expiry sweep, a window end, one lease, a match, a ticket event's close) commits its records
// in the transaction that ends the leases, which the rows' xmin (the id of the transaction that
// wrote them) shows, and writes none through the audit sink; a failure between the end and the
// commit leaves neither; the records are those the sink gets from a store without a chain.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <mutex>
#include <set>

#include "broker/audit/chains.h"
#include "broker/audit/record_text.h"
#include "broker/downstream/database_revoker.h"
#include "broker/leases/lease_manager.h"
#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/memory_audit.h"
#include "tests/support/mocks/mock_role_admin.h"
#include "tests/support/store_rows.h"
#include "tests/unit/store_conformance/pg_chains.h"
#include "tests/unit/store_conformance/pg_env.h"

namespace jitb::store {
namespace {

namespace json = boost::json;
using conformance::PgEnv;

constexpr int64_t kNow = 1'700'000'000'000;  // the fake clock's start, ms
constexpr int64_t kFar = kNow + 86'400'000;

// A record as the store holds it, with the transaction that wrote it.
struct Stored {
  json::object record;
  std::string xmin;
};

class PgEndAudit : public ::testing::Test {
 protected:
  void SetUp() override { open("r1"); }

  // `replica` empty: a store without a chain (the sink then gets the records).
  void open(const std::string& replica) {
    auto env = PgEnv::create();
    ASSERT_TRUE(env.ok()) << env.status().message();
    env_ = std::move(*env);
    auto s = env_->openPg();
    ASSERT_TRUE(s.ok()) << s.status().detail();
    store_ = std::move(*s);
    if (!replica.empty())
      store_->keepAuditAs(replica, [this](std::vector<std::string> bodies) {
        std::lock_guard lk(copy_mu_);
        copied_ += bodies.size();
      });
    auto c = pg::Conn::connect(env_->uri(), 5);
    ASSERT_TRUE(c.ok()) << c.status().detail();
    conn_ = std::move(*c);
    leases_ = std::make_unique<leases::LeaseManager>(*store_, sink_, clock_,
                                                     leases::Quotas{1'000'000, 1'000'000}, reg_);
  }

  void TearDown() override {
    leases_.reset();
    store_.reset();
    conn_.reset();
    env_.reset();
  }

  void sql(const std::string& text) { ASSERT_TRUE(conn_->exec(text, "test sql").ok()) << text; }

  // `n` active token leases of `ticket` (an approved ticket until `window_end`), ids
  // <ticket>-000000..., expiring at `expires`, with their quota counts.
  void load(const std::string& ticket, int n, int64_t expires, int64_t window_end = kFar,
            const std::string& subject = "repo:acme/api") {
    sql("INSERT INTO tickets (id, state, updated_at, window_end, json, received_at) VALUES ('" +
        ticket + "', 'approved', 1, " + std::to_string(window_end) + ", '{}', 1)");
    sql("INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, expires_at, "
        "jti, claims) SELECT '" + ticket + "-' || lpad(i::text, 6, '0'), 0, '" + ticket +
        "', 'deploy', '" + subject + "', 0, " + std::to_string(kNow - 1000) + ", " +
        std::to_string(expires) + ", 'j" + ticket + "-' || i, '{}' FROM generate_series(0, " +
        std::to_string(n - 1) + ") AS i; "
        "INSERT INTO lease_active (id, ticket, subject, expires_at, kind, jti) "
        "SELECT id, ticket, subject, expires_at, kind, jti FROM leases "
        "WHERE ticket = '" + ticket + "'; "
        "INSERT INTO lease_counts (scope, key, n) VALUES ('ticket', '" + ticket + "', " +
        std::to_string(n) + ") ON CONFLICT (scope, key) DO UPDATE SET n = lease_counts.n + "
        "EXCLUDED.n; "
        "INSERT INTO lease_counts (scope, key, n) VALUES ('subject', '" + subject + "', " +
        std::to_string(n) + ") ON CONFLICT (scope, key) DO UPDATE SET n = lease_counts.n + "
        "EXCLUDED.n");
  }

  // The chain's records in seq order, parsed.
  std::vector<Stored> stored() {
    std::vector<Stored> out;
    auto r = conn_->query("SELECT record, xmin::text FROM audit_records ORDER BY seq", {},
                          "records");
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return out;
    for (int i = 0; i < r->rows(); ++i)
      out.push_back({json::parse(r->text(i, 0)).as_object(), r->text(i, 1)});
    return out;
  }

  // The transactions that wrote these leases' ends ("active" for a lease without one).
  std::set<std::string> leaseXmins(const std::string& where) {
    std::set<std::string> out;
    // query() takes literals only: the varying statement fills a temporary table it reads.
    sql("DROP TABLE IF EXISTS xmins; CREATE TEMP TABLE xmins AS "
        "SELECT DISTINCT coalesce(ex::text, 'active') AS x FROM (SELECT l.id, l.ticket, "
        "e.xmin AS ex FROM leases l LEFT JOIN lease_ends e ON e.id = l.id) v WHERE " + where);
    auto x = conn_->query("SELECT * FROM xmins", {}, "xmins");
    EXPECT_TRUE(x.ok());
    if (x.ok())
      for (int i = 0; i < x->rows(); ++i) out.insert(x->text(i, 0));
    return out;
  }

  int64_t count(const std::string& where) {
    sql("DROP TABLE IF EXISTS n; CREATE TEMP TABLE n AS SELECT count(*) AS n FROM " + where);
    auto r = conn_->query("SELECT n FROM n", {}, "count");
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->int64(0, 0) : -1;
  }

  audit::ChainsResult verify() { return conformance::verifyChains(*conn_); }

  // The lease ids the records name, sorted (a statement returns its rows in no set order).
  static std::vector<std::string> ids(const std::vector<Stored>& records) {
    std::vector<std::string> out;
    for (const auto& s : records)
      if (const json::value* l = s.record.if_contains("leases"))
        for (const auto& id : l->as_array()) out.push_back(std::string(id.as_string()));
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::vector<std::string> expectedIds(const std::string& ticket, int n) {
    std::vector<std::string> out;
    char buf[32];
    for (int i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof buf, "-%06d", i);
      out.push_back(ticket + buf);
    }
    return out;
  }

  size_t copied() {
    std::lock_guard lk(copy_mu_);
    return copied_;
  }

  core::FakeClock clock_{core::TimePoint(std::chrono::milliseconds(kNow))};
  // What the lease manager writes through its sink: with a chain in the store, nothing of the ends.
  testing::MemoryAudit sink_;
  metrics::Registry reg_;
  std::unique_ptr<PgEnv> env_;
  std::unique_ptr<PgStore> store_;
  std::unique_ptr<pg::Conn> conn_;
  std::unique_ptr<leases::LeaseManager> leases_;
  std::mutex copy_mu_;
  size_t copied_ = 0;
};

TEST_F(PgEndAudit, ATicketsRevocationCommitsItsChunkRecordsWithTheEnds) {
  load("T1", 2500, kFar);
  auto n = leases_->revokeTicket("T1", "ticket_closed");
  ASSERT_TRUE(n.ok()) << n.status().detail();
  EXPECT_EQ(*n, 2500u);
  std::vector<Stored> records = stored();
  ASSERT_EQ(records.size(), 3u);  // chunks of 1,000
  const std::set<std::string> xmins = leaseXmins("ticket = 'T1'");
  ASSERT_EQ(xmins.size(), 1u);  // one transaction ended them all...
  for (const auto& r : records) {
    EXPECT_EQ(r.record.at("event").as_string(), "lease.revoked");
    EXPECT_EQ(r.record.at("reason").as_string(), "ticket_closed");
    EXPECT_EQ(r.record.at("ticket").as_string(), "T1");
    EXPECT_EQ(r.record.at("replica").as_string(), "r1");
    EXPECT_EQ(r.xmin, *xmins.begin());  // ...and wrote their records
  }
  EXPECT_EQ(records[0].record.at("count").as_int64(), 1000);
  EXPECT_EQ(records[2].record.at("count").as_int64(), 500);
  EXPECT_EQ(ids(records), expectedIds("T1", 2500));
  EXPECT_TRUE(sink_.records().empty());  // not again through the sink
  EXPECT_EQ(copied(), 3u);               // the file log's copy, once committed
  audit::ChainsResult v = verify();
  EXPECT_TRUE(v.ok) << v.message;
}

TEST_F(PgEndAudit, TheExpirySweepCommitsLeaseExpiredWithTheEnds) {
  load("T2", 3, kNow + 5000);
  load("T3", 2, kNow + 60'000);  // not due
  leases_->processDue(kNow + 6000);
  std::vector<Stored> records = stored();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record.at("event").as_string(), "lease.expired");
  EXPECT_EQ(records[0].record.at("reason").as_string(), "ttl");
  EXPECT_EQ(records[0].record.at("count").as_int64(), 3);
  EXPECT_EQ(ids(records), expectedIds("T2", 3));
  EXPECT_EQ(leaseXmins("ticket = 'T2'"), std::set<std::string>{records[0].xmin});
  EXPECT_EQ(count("lease_rows WHERE ticket = 'T3' AND state = 0"), 2);
  EXPECT_TRUE(sink_.records().empty());
}

TEST_F(PgEndAudit, AWindowEndCommitsItsRevocationRecordWithTheEnds) {
  load("T4", 2, kFar, kNow + 5000);
  leases_->processDue(kNow + 6000);  // the store poll: endWindowsDue
  std::vector<Stored> records = stored();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record.at("event").as_string(), "lease.revoked");
  EXPECT_EQ(records[0].record.at("reason").as_string(), "window_ended");
  EXPECT_EQ(records[0].record.at("ticket").as_string(), "T4");
  EXPECT_EQ(ids(records), expectedIds("T4", 2));
  EXPECT_EQ(leaseXmins("ticket = 'T4'"), std::set<std::string>{records[0].xmin});
  EXPECT_TRUE(sink_.records().empty());
}

TEST_F(PgEndAudit, OneLeasesRevocationCommitsOneRecordAndARepeatNone) {
  load("T5", 2, kFar);
  auto r = leases_->revokeLease("T5-000001", "admin");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_TRUE(*r);
  r = leases_->revokeLease("T5-000001", "admin");  // no longer active: nothing ends
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  std::vector<Stored> records = stored();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record.at("reason").as_string(), "admin");
  EXPECT_EQ(ids(records), std::vector<std::string>{"T5-000001"});
  EXPECT_EQ(leaseXmins("id = 'T5-000001'"), std::set<std::string>{records[0].xmin});
  EXPECT_EQ(count("lease_rows WHERE id = 'T5-000000' AND state = 0"), 1);
  EXPECT_TRUE(sink_.records().empty());
}

// A revocation by filter ends its leases a chunk a transaction; its summary commits with the
// last chunk.
TEST_F(PgEndAudit, ARevocationByMatchCommitsItsSummaryWithTheLastChunk) {
  load("T6", 1200, kFar, kFar, "repo:acme/m");
  store::LeaseFilter match;
  match.subject = "repo:acme/m";
  auto ended = leases_->revokeMatching(match, "admin", false);
  ASSERT_TRUE(ended.ok()) << ended.status().detail();
  EXPECT_EQ(ended->size(), 1200u);
  std::vector<Stored> records = stored();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].record.at("count").as_int64(), 1000);
  EXPECT_EQ(records[1].record.at("count").as_int64(), 200);
  EXPECT_EQ(records[2].record.at("event").as_string(), "leases.revoked_matching");
  EXPECT_EQ(records[2].record.at("count").as_int64(), 1200);
  EXPECT_EQ(records[2].record.at("subject").as_string(), "repo:acme/m");
  EXPECT_EQ(leaseXmins("id >= 'T6-001000'"), std::set<std::string>{records[1].xmin});
  EXPECT_EQ(records[2].xmin, records[1].xmin);
  EXPECT_NE(records[0].xmin, records[1].xmin);
  EXPECT_TRUE(sink_.records().empty());
}

// A ticket event that closes the ticket: its ticket.received and its leases' lease.revoked in
// the write's transaction; the lease side, told after, writes nothing more.
TEST_F(PgEndAudit, ATicketCloseCommitsTheEventAndItsLeasesRecordsInItsWrite) {
  load("T7", 3, kFar);
  TicketRow row{"T7", "closed", 5000, kFar, "{}", kNow};
  TicketEffect effect{TicketEffect::Kind::kRevokeAll, "ticket_closed", kNow};
  effect.audit_applied = audit::recordBody({"ticket.received", {{"ticket", "T7"}}}, clock_.now());
  effect.audit_ended = leases_->endedAudit("ticket_closed");
  ASSERT_TRUE(effect.audit_ended);
  auto applied = store_->applyTicket(row, effect);
  ASSERT_TRUE(applied.ok()) << applied.status().detail();
  ASSERT_EQ(applied->ended.size(), 3u);
  leases_->ticketLeasesEnded(applied->ended, effect.reason);
  std::vector<Stored> records = stored();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].record.at("event").as_string(), "ticket.received");
  EXPECT_EQ(records[1].record.at("event").as_string(), "lease.revoked");
  EXPECT_EQ(ids(records), expectedIds("T7", 3));
  EXPECT_EQ(records[0].xmin, records[1].xmin);
  EXPECT_EQ(leaseXmins("ticket = 'T7'"), std::set<std::string>{records[1].xmin});
  EXPECT_TRUE(sink_.records().empty());
  EXPECT_EQ(copied(), 2u);
}

// The append fails between the end and the commit (a forced SQL error in the chain's insert):
// the leases stay active and no record is written, whichever path; once the fault is gone the
// same calls end them with their records. Were the records appended in a transaction of their
// own after the end, the leases would be found ended with no record.
TEST_F(PgEndAudit, AFailedAppendLeavesNeitherTheEndsNorTheRecords) {
  load("T8", 5, kNow + 5000);
  load("T9", 2, kFar, kNow + 5000);
  sql("CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN RAISE EXCEPTION 'injected audit failure'; END $$; "
      "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_records FOR EACH STATEMENT "
      "EXECUTE FUNCTION refuse_audit()");
  EXPECT_FALSE(leases_->revokeTicket("T8", "ticket_closed").ok());
  EXPECT_FALSE(leases_->revokeLease("T8-000000", "admin").ok());
  leases_->processDue(kNow + 6000);  // the expiry sweep and the window poll both fail
  EXPECT_FALSE(store_->revokeTicketAudited("T9", "x", kNow, leases_->endedAudit("x")).ok());
  EXPECT_EQ(count("lease_rows WHERE state = 0"), 7);
  EXPECT_EQ(count("lease_active"), 7);
  EXPECT_EQ(count("audit_records"), 0);
  EXPECT_EQ(copied(), 0u);
  sql("DROP TRIGGER refuse_audit ON audit_records");
  leases_->processDue(kNow + 7000);
  EXPECT_EQ(count("lease_rows WHERE state = 0"), 0);
  std::vector<Stored> records = stored();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].record.at("event").as_string(), "lease.expired");
  EXPECT_EQ(records[1].record.at("reason").as_string(), "window_ended");
  EXPECT_EQ(ids(records).size(), 7u);
  EXPECT_TRUE(sink_.records().empty());
  audit::ChainsResult v = verify();
  EXPECT_TRUE(v.ok) << v.message;
}

// The database reaper ends a lease whose activation was interrupted (its role left behind):
// its record commits with that end too, and not through the sink. (The role's PostgreSQL is a
// stand-in here: what is tested is the store's transaction.)
TEST_F(PgEndAudit, TheDatabaseReapersEndCommitsItsRecordWithIt) {
  using ::testing::_;
  using ::testing::Return;
  ::testing::NiceMock<testing::MockRoleAdmin> admin;
  ON_CALL(admin, brokerRoles()).WillByDefault(Return(std::vector<std::string>{"jitb_lease_db1"}));
  ON_CALL(admin, disableLogin(_)).WillByDefault(Return(core::okStatus()));
  ON_CALL(admin, revokeMembership(_, _)).WillByDefault(Return(core::okStatus()));
  ON_CALL(admin, terminateSessions(_)).WillByDefault(Return(0));
  ON_CALL(admin, countSessions(_)).WillByDefault(Return(0));
  ON_CALL(admin, dropOwned(_)).WillByDefault(Return(core::okStatus()));
  ON_CALL(admin, dropRole(_)).WillByDefault(Return(core::okStatus()));
  ON_CALL(admin, roleExists(_)).WillByDefault(Return(false));
  LeaseRow l = testing::leaseRow("lease_db1", "T10", LeaseKind::kDatabase, kFar);
  l.serial.clear();
  l.issued_at = kNow - 1000;
  l.claims = R"({"database":"orders","roles":["orders_ro"]})";  // never activated
  ASSERT_TRUE(store_->insertLease(l).ok());
  downstream::DatabaseRevoker reaper(*store_, sink_, clock_, {{"orders", &admin}});
  reaper.reap(kNow + 60'000);  // past the activation grace
  std::vector<Stored> records = stored();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record.at("event").as_string(), "lease.revoked");
  EXPECT_EQ(records[0].record.at("lease").as_string(), "lease_db1");
  EXPECT_EQ(records[0].record.at("reason").as_string(), "activation_interrupted");
  // The lease's row moved on (the role's revocation writes its progress in the claims): the
  // fan-out's event row, which the ending statement's trigger wrote, names the transaction.
  sql("DROP TABLE IF EXISTS x; CREATE TEMP TABLE x AS SELECT xmin::text AS t FROM "
      "revocation_events WHERE 'lease_db1' = ANY(lease_ids)");
  auto event = conn_->query("SELECT t FROM x", {}, "event xmin");
  ASSERT_TRUE(event.ok() && event->rows() == 1);
  EXPECT_EQ(event->text(0, 0), records[0].xmin);
  for (const auto& r : sink_.records()) EXPECT_NE(r.event, "lease.revoked");
}

// The records' fields, without what the chain or the clock adds; the lease ids sorted, since
// the ending statement returns them in no set order.
json::object fieldsOf(json::object record) {
  for (const char* k : {"seq", "replica", "time", "prev", "hash"}) record.erase(k);
  if (json::value* l = record.if_contains("leases")) {
    std::vector<std::string> ids;
    for (const auto& id : l->as_array()) ids.push_back(std::string(id.as_string()));
    std::sort(ids.begin(), ids.end());
    json::array sorted;
    for (const auto& id : ids) sorted.emplace_back(id);
    *l = std::move(sorted);
  }
  return record;
}

// The same ends on a store without a chain: the sink gets the same records, field for field.
TEST_F(PgEndAudit, TheRecordsAreThoseTheSinkGetsFromAStoreWithoutAChain) {
  auto scenario = [this] {
    load("U1", 800, kNow + 5000);  // one chunk: which leases share one is the store's order
    load("U2", 2, kFar);
    ASSERT_TRUE(leases_->revokeTicket("U2", "ticket_closed").ok());
    leases_->processDue(kNow + 6000);
  };
  scenario();
  std::vector<json::object> in_txn;
  for (auto& s : stored()) in_txn.push_back(fieldsOf(std::move(s.record)));
  ASSERT_EQ(in_txn.size(), 2u);
  ASSERT_TRUE(sink_.records().empty());
  TearDown();
  open("");  // no chain: the lease manager writes them through its sink, as before
  scenario();
  EXPECT_EQ(count("audit_records"), 0);
  std::vector<json::object> sunk;
  for (const auto& r : sink_.records())
    sunk.push_back(fieldsOf(json::parse(audit::recordBody(r, clock_.now())).as_object()));
  EXPECT_EQ(sunk, in_txn);
}

}  // namespace
}  // namespace jitb::store
