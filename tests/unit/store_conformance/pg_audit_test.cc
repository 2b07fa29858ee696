// The store's audit chains, leader row and stored CRL on a real PostgreSQL (pg_audit.h,
// pg_leader.cc, pg_crl.cc): records committed with their lease or not at all, one chain per
// replica however their appends interleave, tampering found by the verifier, one leader at a
// time with a growing term, CRL numbers that only grow.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "broker/audit/chains.h"
#include "broker/audit/record_text.h"
#include "broker/core/clock.h"
#include "broker/store/postgres/pg_audit.h"
#include "tests/support/fake_clock.h"
#include "tests/support/store_rows.h"
#include "tests/unit/store_conformance/pg_chains.h"
#include "tests/unit/store_conformance/pg_env.h"
#include "tests/unit/store_conformance/races.h"

namespace jitb::store {
namespace {

using conformance::PgEnv;

std::unique_ptr<PgEnv> freshEnv() {
  auto env = PgEnv::create();
  EXPECT_TRUE(env.ok()) << env.status().message();
  return env.ok() ? std::move(*env) : nullptr;
}

std::unique_ptr<PgStore> openAs(PgEnv& env, const std::string& replica) {
  auto s = env.openPg();
  EXPECT_TRUE(s.ok()) << s.status().detail();
  if (!s.ok()) return nullptr;
  if (!replica.empty()) (*s)->keepAuditAs(replica);
  return std::move(*s);
}

std::unique_ptr<pg::Conn> connect(const std::string& uri) {
  auto c = pg::Conn::connect(uri, 5);
  EXPECT_TRUE(c.ok()) << c.status().detail();
  return c.ok() ? std::move(*c) : nullptr;
}

std::string body(const std::string& event, const std::string& lease = "") {
  audit::Record r{event, {{"lease", lease}}};
  return audit::recordBody(r, core::TimePoint(std::chrono::milliseconds(1000)));
}

audit::ChainsResult verify(pg::Conn& c) { return conformance::verifyChains(c); }

void insertAudited(PgStore& s, const LeaseRow& l, std::vector<std::string> bodies,
                   core::Status& out) {
  std::promise<core::Status> p;
  s.insertLeaseAudited(l, std::move(bodies),
                       [&p](core::Status st, std::optional<TicketState>) { p.set_value(st); });
  out = p.get_future().get();
}

TEST(PgAudit, AnIssuanceCommitsItsRecordsWithItsLeaseAndARefusedOneNeither) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto s = openAs(*env, "r1");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->auditsInTransaction());
  s->setLeaseQuotas({1, 10});  // one active lease a subject
  core::Status st;
  insertAudited(*s, testing::leaseRow("L1", "T1"), {body("decision.allowed"), body("lease.issued", "L1")}, st);
  ASSERT_TRUE(st.ok()) << st.message();
  insertAudited(*s, testing::leaseRow("L2", "T1"), {body("decision.allowed"), body("lease.issued", "L2")}, st);
  ASSERT_EQ(st.code(), core::Code::kResourceExhausted) << st.message();
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  auto rows = c->query("SELECT seq, record FROM audit_records ORDER BY seq", {}, "records");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->rows(), 2);  // L1's two records; nothing of the refused L2
  EXPECT_NE(rows->text(1, 1).find("\"lease\":\"L1\""), std::string::npos);
  EXPECT_EQ(rows->text(0, 1).rfind("{\"seq\":1,\"replica\":\"r1\",", 0), 0u) << rows->text(0, 1);
  auto lease = s->getLease("L2");
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->has_value());
  audit::ChainsResult r = verify(*c);
  EXPECT_TRUE(r.ok) << r.message;
}

// A ticket event's record commits with the write when it applies, and not at all when the
// write is ignored (not newer).
TEST(PgAudit, ATicketWriteCommitsItsRecordOnlyWhenItApplies) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto s = openAs(*env, "r1");
  ASSERT_TRUE(s);
  TicketRow row{"T1", "approved", 2000, 99'000, "{}", 2000};
  TicketEffect effect;
  effect.audit_applied = body("ticket.received");
  auto applied = s->applyTicket(row, effect);
  ASSERT_TRUE(applied.ok()) << applied.status().detail();
  ASSERT_EQ(applied->write, TicketWrite::kApplied);
  row.updated_at = 1000;  // older: ignored
  applied = s->applyTicket(row, effect);
  ASSERT_TRUE(applied.ok());
  ASSERT_EQ(applied->write, TicketWrite::kIgnoredNotNewer);
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  auto rows = c->query("SELECT count(*) FROM audit_records", {}, "records");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->int64(0, 0), 1);
  EXPECT_TRUE(verify(*c).ok);
}

// A store that does not keep the audit log refuses records rather than dropping them.
TEST(PgAudit, AStoreWithoutAReplicaRefusesAuditedInserts) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto s = openAs(*env, "");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->auditsInTransaction());
  core::Status st;
  insertAudited(*s, testing::leaseRow("L1", "T1"), {body("lease.issued", "L1")}, st);
  EXPECT_EQ(st.code(), core::Code::kInternal);
  auto lease = s->getLease("L1");
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->has_value());
}

// Two replicas, and many threads each, append at once: each replica's records form one
// whole chain. The chain head's row lock is what orders one replica's transactions: without
// it two of them take the same seq (the insert then fails on the primary key).
TEST(PgAudit, ReplicasAppendingTogetherEachKeepOneWholeChain) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto a = openAs(*env, "replica-a");
  auto b = openAs(*env, "replica-b");
  ASSERT_TRUE(a && b);
  constexpr int kThreads = 6, kAppends = 40;
  std::atomic<int> failed{0};
  conformance::onThreads(kThreads, [&](int t) {
    PgStore& s = t % 2 ? *a : *b;
    for (int i = 0; i < kAppends; ++i) {
      core::Status st = s.appendAudit({body("x.one"), body("x.two")}, 1000);
      if (!st.ok()) ++failed;
    }
  });
  EXPECT_EQ(failed.load(), 0);
  auto c = connect(env->uri());
  ASSERT_TRUE(c);
  audit::ChainsResult r = verify(*c);
  ASSERT_TRUE(r.ok) << r.replica << " " << r.bad_seq << ": " << r.message;
  ASSERT_EQ(r.chains.size(), 2u);
  for (const auto& chain : r.chains) EXPECT_EQ(chain.records, kThreads / 2 * kAppends * 2);
}

class PgAuditTamper : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = freshEnv();
    ASSERT_TRUE(env_);
    s_ = openAs(*env_, "r1");
    ASSERT_TRUE(s_);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(s_->appendAudit({body("e" + std::to_string(i))}, 1).ok());
    c_ = connect(env_->uri());
    ASSERT_TRUE(c_);
    ASSERT_TRUE(verify(*c_).ok);
  }
  void run(const char* sql) { ASSERT_TRUE(c_->exec(sql, "tamper").ok()); }
  std::unique_ptr<PgEnv> env_;
  std::unique_ptr<PgStore> s_;
  std::unique_ptr<pg::Conn> c_;
};

TEST_F(PgAuditTamper, AnEditedRecordIsNamed) {
  run("UPDATE audit_records SET record = replace(record, '\"e2\"', '\"e9\"') WHERE seq = 3");
  audit::ChainsResult r = verify(*c_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.replica, "r1");
  EXPECT_EQ(r.bad_seq, 3);
  EXPECT_NE(r.message.find("hash does not match"), std::string::npos) << r.message;
}

TEST_F(PgAuditTamper, ARecordRemovedFromTheMiddleIsFound) {
  run("DELETE FROM audit_records WHERE seq = 2");
  audit::ChainsResult r = verify(*c_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 2);
}

TEST_F(PgAuditTamper, ARecordRemovedFromTheEndIsFoundByTheHead) {
  run("DELETE FROM audit_records WHERE seq = 5");
  audit::ChainsResult r = verify(*c_);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("head"), std::string::npos) << r.message;
}

TEST_F(PgAuditTamper, ARecordMovedToAnotherReplicaIsFound) {
  run("UPDATE audit_records SET replica_id = 'r2' WHERE seq = 5");
  run("INSERT INTO audit_chains VALUES ('r2', 5, (SELECT hash FROM audit_records WHERE seq = 5))");
  EXPECT_FALSE(verify(*c_).ok);
}

// Two contenders for the leader row with an injected clock: one holds it while it renews;
// when its expiry passes unrenewed the other takes it with the next term, and the first then
// finds it taken. Without the condition on holder and expiry the second would take it at
// once.
TEST(PgLeader, TheOtherReplicaTakesOverWithTheNextTermOnlyOnceTheExpiryPassed) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto a = openAs(*env, "");
  auto b = openAs(*env, "");
  ASSERT_TRUE(a && b);
  constexpr int64_t kLease = 3000;
  auto claim = [&](PgStore& s, const char* who, int64_t now) {
    auto l = s.claimLeadership(who, now, kLease);
    EXPECT_TRUE(l.ok()) << l.status().detail();
    return l.ok() ? *l : Leadership{};
  };
  Leadership l = claim(*a, "a", 10'000);
  ASSERT_TRUE(l.leads);
  const int64_t first_term = l.term;
  l = claim(*b, "b", 11'000);
  EXPECT_FALSE(l.leads);
  EXPECT_EQ(l.holder, "a");
  l = claim(*a, "a", 12'500);  // renewed in time: the same term, a later expiry
  EXPECT_TRUE(l.leads);
  EXPECT_EQ(l.term, first_term);
  EXPECT_EQ(l.expires_at, 15'500);
  l = claim(*b, "b", 15'000);
  EXPECT_FALSE(l.leads);
  l = claim(*b, "b", 15'500);  // a's expiry passed
  EXPECT_TRUE(l.leads);
  EXPECT_EQ(l.holder, "b");
  EXPECT_EQ(l.term, first_term + 1);
  l = claim(*a, "a", 15'600);
  EXPECT_FALSE(l.leads);
  EXPECT_EQ(l.holder, "b");
  EXPECT_EQ(l.term, first_term + 1);
}

TEST(PgCrl, AStoredCrlIsReplacedOnlyByAHigherNumber) {
  auto env = freshEnv();
  ASSERT_TRUE(env);
  auto s = openAs(*env, "");
  ASSERT_TRUE(s);
  auto none = s->getCrl("issuer1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  std::string der("\x30\x03\x02\x01\x05\x00", 6);  // bytes of any value, a NUL among them
  auto put = s->putCrl("issuer1", {5, 100, der});
  ASSERT_TRUE(put.ok()) << put.status().detail();
  EXPECT_TRUE(*put);
  put = s->putCrl("issuer1", {4, 200, "older"});
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(*put);
  put = s->putCrl("issuer1", {5, 300, "same number"});
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(*put);
  auto got = s->getCrl("issuer1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->number, 5);
  EXPECT_EQ((*got)->this_update, 100);
  EXPECT_EQ((*got)->der, der);
  put = s->putCrl("issuer1", {6, 400, "newer"});
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(*put);
}

}  // namespace
}  // namespace jitb::store
