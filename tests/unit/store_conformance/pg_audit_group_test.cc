// Audited lease groups in one statement (migrations/0015_insert_leases_audited.sql): a replica
// that knows its chain's head chains a group's records itself and sends the group as one
// statement; a head moved behind its back, or a lease refused by its quota, sends it back to the
// locked path, and nothing is written twice or lost either way.
//
// Which path ran shows in the store: only the locked path inserts into audit_chains (its
// INSERT ... ON CONFLICT takes the head); a statement trigger counts those inserts.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "broker/audit/record_text.h"
#include "broker/store/postgres/pg_audit.h"
#include "tests/support/store_rows.h"
#include "tests/unit/store_conformance/pg_chains.h"
#include "tests/unit/store_conformance/pg_env.h"

namespace jitb::store {
namespace {

using conformance::PgEnv;

std::string body(const std::string& event, const std::string& lease) {
  audit::Record r{event, {{"lease", lease}}};
  return audit::recordBody(r, core::TimePoint(std::chrono::milliseconds(1000)));
}

LeaseRow leaseOf(const std::string& id, const std::string& subject) {
  LeaseRow l = testing::leaseRow(id, "T");
  l.subject = subject;
  return l;
}

struct Fixture {
  std::unique_ptr<PgEnv> env;
  std::unique_ptr<PgStore> store;
  std::unique_ptr<pg::Conn> admin;

  void open(bool slow = false) {
    PgOptions o;
    o.async_workers = 1;
    auto e = PgEnv::create(o);
    ASSERT_TRUE(e.ok()) << e.status().message();
    env = std::move(*e);
    store = openAs("r1");
    ASSERT_TRUE(store);
    auto c = pg::Conn::connect(env->uri(), 5);
    ASSERT_TRUE(c.ok());
    admin = std::move(*c);
    ASSERT_TRUE(admin
                    ->exec("CREATE TABLE locked_appends (n INT NOT NULL); "
                           "INSERT INTO locked_appends VALUES (0); "
                           "CREATE FUNCTION count_locked() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN UPDATE locked_appends SET n = n + 1; RETURN NULL; END $$; "
                           "CREATE TRIGGER count_locked BEFORE INSERT ON audit_chains "
                           "FOR EACH STATEMENT EXECUTE FUNCTION count_locked()",
                           "count locked appends")
                    .ok());
    if (slow) {
      ASSERT_TRUE(env->slowLeaseInserts().ok());
    }
  }
  std::unique_ptr<PgStore> openAs(const std::string& replica) {
    auto s = env->openPg();
    EXPECT_TRUE(s.ok()) << s.status().detail();
    if (!s.ok()) return nullptr;
    (*s)->keepAuditAs(replica);
    return std::move(*s);
  }
  // Queues every lease with its two records at once (a slowed worker takes them as one group);
  // the answers in queue order.
  std::vector<core::Status> insert(std::vector<LeaseRow> leases) {
    std::vector<std::promise<core::Status>> ps(leases.size());
    for (size_t i = 0; i < leases.size(); ++i) {
      std::vector<std::string> bodies{body("decision.allowed", leases[i].id),
                                      body("lease.issued", leases[i].id)};
      store->insertLeaseAudited(std::move(leases[i]), std::move(bodies),
                                [p = &ps[i]](core::Status st, std::optional<TicketState>) {
                                  p->set_value(std::move(st));
                                });
    }
    std::vector<core::Status> out;
    for (auto& p : ps) out.push_back(p.get_future().get());
    return out;
  }
  int64_t one(const char* sql, const std::vector<pg::Param>& params = {}) {
    auto r = admin->query(sql, params, "probe");
    EXPECT_TRUE(r.ok()) << r.status().detail();
    return r.ok() ? r->int64(0, 0) : -1;
  }
  int64_t lockedAppends() { return one("SELECT n FROM locked_appends"); }
  // A lease's records, and how many of them its own transaction wrote.
  std::pair<int64_t, int64_t> recordsOf(const std::string& id) {
    const std::string needle = "%\"lease\":\"" + id + "\"%";
    return {one("SELECT count(*) FROM audit_records WHERE record LIKE $1", {needle}),
            one("SELECT count(*) FROM audit_records a JOIN leases l ON a.xmin = l.xmin "
                "WHERE l.id = $2 AND a.record LIKE $1",
                {needle, id})};
  }
  audit::ChainsResult verify() { return conformance::verifyChains(*admin); }
};

// The first group learns the head the locked way; every later one is a single statement, and
// each lease's records commit in its transaction, on one whole chain.
TEST(PgAuditGroup, OnceTheHeadIsKnownAGroupIsOneStatementWithItsRecords) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.open());
  for (int i = 0; i < 4; ++i) {
    const std::string id = "L" + std::to_string(i);
    auto st = f.insert({leaseOf(id, "s")});
    ASSERT_TRUE(st[0].ok()) << st[0].detail();
    EXPECT_EQ(f.recordsOf(id), std::make_pair(int64_t{2}, int64_t{2})) << id;
  }
  EXPECT_EQ(f.lockedAppends(), 1);
  audit::ChainsResult r = f.verify();
  ASSERT_TRUE(r.ok) << r.message;
  ASSERT_EQ(r.chains.size(), 1u);
  EXPECT_EQ(r.chains[0].records, 8);
}

// The store's other appends (records of no change, ends) move the head it knows, so the next
// group is still one statement.
TEST(PgAuditGroup, TheStoresOwnOtherAppendsKeepTheHeadKnown) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.open());
  ASSERT_TRUE(f.insert({leaseOf("L0", "s")})[0].ok());
  ASSERT_TRUE(f.store->appendAudit({body("token.denied", "")}, 1000).ok());
  auto ended = f.store->endLeasesAudited(
      {"L0"}, LeaseState::kRevoked, "test", 2000, [](const std::vector<EndedLease>& e) {
        return std::vector<std::string>{body("lease.revoked", e.at(0).id)};
      });
  ASSERT_TRUE(ended.ok()) << ended.status().detail();
  const int64_t before = f.lockedAppends();
  ASSERT_TRUE(f.insert({leaseOf("L1", "s")})[0].ok());
  EXPECT_EQ(f.lockedAppends(), before);
  EXPECT_EQ(f.recordsOf("L1"), std::make_pair(int64_t{2}, int64_t{2}));
  EXPECT_TRUE(f.verify().ok);
}

// Another writer of the same chain (a second process given the same replica id) moves the
// head: the single statement is refused whole, the locked path writes the group once, and the
// chain stays whole. Without the head's check in the statement, two records would take one seq.
TEST(PgAuditGroup, AHeadMovedByAnotherWriterSendsTheGroupTheLockedWay) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.open());
  auto other = f.openAs("r1");
  ASSERT_TRUE(other);
  ASSERT_TRUE(f.insert({leaseOf("L0", "s")})[0].ok());
  ASSERT_TRUE(other->appendAudit({body("x.one", ""), body("x.two", "")}, 1000).ok());
  const int64_t before = f.lockedAppends();
  auto st = f.insert({leaseOf("L1", "s")});
  ASSERT_TRUE(st[0].ok()) << st[0].detail();
  EXPECT_EQ(f.lockedAppends(), before + 1);
  EXPECT_EQ(f.recordsOf("L1"), std::make_pair(int64_t{2}, int64_t{2}));
  audit::ChainsResult r = f.verify();
  ASSERT_TRUE(r.ok) << r.replica << " " << r.bad_seq << ": " << r.message;
  EXPECT_EQ(r.chains.at(0).records, 6);
  // Learnt again: the next group is one statement.
  ASSERT_TRUE(f.insert({leaseOf("L2", "s")})[0].ok());
  EXPECT_EQ(f.lockedAppends(), before + 1);
}

// A lease its quota refuses, in a burst the slowed worker takes in one or two groups: the
// records were chained as if all were admitted, so the statement is refused whole (whichever
// group holds A3) and the locked path writes the others with their records and the refused one
// with none. Without the refusal check in the statement, A3's records would be committed.
TEST(PgAuditGroup, ARefusedLeaseInAGroupLeavesNoRecordAndTheOthersTheirs) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.open(/*slow=*/true));
  f.store->setLeaseQuotas({1, 1000});  // one active lease a subject
  ASSERT_TRUE(f.insert({leaseOf("L0", "s0")})[0].ok());
  auto st = f.insert({leaseOf("A1", "s1"), leaseOf("A2", "s2"), leaseOf("A3", "s1"),
                      leaseOf("A4", "s4"), leaseOf("A5", "s5")});
  for (size_t i = 0; i < st.size(); ++i) {
    if (i == 2)
      EXPECT_EQ(st[i].code(), core::Code::kResourceExhausted) << st[i].detail();
    else
      EXPECT_TRUE(st[i].ok()) << i << ": " << st[i].detail();
  }
  EXPECT_EQ(f.recordsOf("A3").first, 0);
  for (const char* id : {"A1", "A2", "A4", "A5"})
    EXPECT_EQ(f.recordsOf(id), std::make_pair(int64_t{2}, int64_t{2})) << id;
  audit::ChainsResult r = f.verify();
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.chains.at(0).records, 10);
}

// A ticket close takes the quota counts (its end's trigger) before the chain's head, as a lease
// group does, so the two cannot deadlock: while another session holds a count row, the close
// waits for it without holding the head. With the event's record appended before the end, the
// close holds the head while it waits, and taking the head NOWAIT fails.
TEST(PgAuditGroup, ATicketCloseTakesTheCountsBeforeTheChainsHead) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.open());
  ASSERT_EQ(*f.store->putTicket({"T", "approved", 1, 5'000'000, "{}", 1}), TicketWrite::kApplied);
  ASSERT_TRUE(f.insert({leaseOf("L0", "s")})[0].ok());
  auto holder = pg::Conn::connect(f.env->uri(), 5);
  ASSERT_TRUE(holder.ok());
  auto pid = (*holder)->query("SELECT pg_backend_pid()", {}, "pid");
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE((*holder)
                  ->exec("BEGIN; SELECT n FROM lease_counts WHERE scope = 'subject' AND key = 's' "
                         "FOR UPDATE",
                         "hold the subject's count")
                  .ok());
  TicketEffect effect;
  effect.kind = TicketEffect::Kind::kRevokeAll;
  effect.reason = "ticket_closed";
  effect.now = 3000;
  effect.audit_applied = body("ticket.received", "");
  effect.audit_ended = [](const std::vector<EndedLease>& ended) {
    std::vector<std::string> out;
    for (const auto& e : ended) out.push_back(body("lease.revoked", e.id));
    return out;
  };
  auto close = std::async(std::launch::async, [&] {
    return f.store->applyTicket({"T", "closed", 2, 5'000'000, "{}", 2}, effect);
  });
  bool blocked = false;
  for (int i = 0; i < 200 && !blocked; ++i) {
    blocked = f.one("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                    {pid->int64(0, 0)}) > 0;
    if (!blocked) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(blocked);
  EXPECT_TRUE(f.admin
                  ->exec("BEGIN; SELECT 1 FROM audit_chains WHERE replica_id = 'r1' FOR UPDATE "
                         "NOWAIT; ROLLBACK",
                         "take the head")
                  .ok());
  (void)f.admin->exec("ROLLBACK", "after a refused NOWAIT");
  ASSERT_TRUE((*holder)->exec("ROLLBACK", "release the count").ok());
  auto applied = close.get();
  ASSERT_TRUE(applied.ok()) << applied.status().detail();
  EXPECT_EQ(applied->ended.size(), 1u);
  EXPECT_EQ(f.recordsOf("L0").first, 3);  // decision, issuance, revocation
  EXPECT_TRUE(f.verify().ok);
}

}  // namespace
}  // namespace jitb::store
