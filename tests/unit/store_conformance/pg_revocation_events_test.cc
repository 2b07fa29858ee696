// The revocation events of migration 0012: every PostgreSQL path that ends leases appends an
// event naming each lease it ended, in its own transaction, and none for a lease already ended; the
// NOTIFY reaches a Listener, which comes back by itself when its connection is killed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "broker/core/files.h"
#include "broker/store/postgres/pg_conn.h"
#include "broker/store/postgres/pg_listener.h"
#include "tests/support/store_rows.h"
#include "tests/unit/store_conformance/pg_env.h"

namespace jitb::store {
namespace {

using jitb::testing::leaseRow;

TicketRow ticketRow(std::string id, std::string state, int64_t updated_at,
                    int64_t window_end = 0) {
  return {id, state, updated_at, window_end, "{\"id\":\"" + id + "\"}", updated_at};
}

class PgRevocationEvents : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = conformance::PgEnv::create();
    ASSERT_TRUE(env.ok()) << env.status().message();
    env_ = std::move(*env);
    auto s = env_->openPg();
    ASSERT_TRUE(s.ok()) << s.status().message() << ": " << s.status().detail();
    store_ = std::move(*s);
  }
  // Every event after `after`, by lease id (a second event of one lease fails the test).
  std::map<std::string, RevocationEvent> eventsAfter(int64_t after) {
    std::map<std::string, RevocationEvent> out;
    auto evs = store_->revocationEventsAfter(after, 1000);
    EXPECT_TRUE(evs.ok()) << evs.status().detail();
    if (!evs.ok()) return out;
    int64_t last = after + 1;
    for (auto& e : *evs) {
      EXPECT_GE(e.seq, last);  // the leases of one statement share its seq
      last = e.seq;
      EXPECT_TRUE(out.emplace(e.lease.id, e).second) << "two events for " << e.lease.id;
    }
    return out;
  }
  int64_t lastSeq() {
    auto evs = store_->revocationEventsAfter(0, 100000);
    return evs.ok() && !evs->empty() ? evs->back().seq : 0;
  }

  std::unique_ptr<conformance::PgEnv> env_;
  std::unique_ptr<PgStore> store_;
};

TEST_F(PgRevocationEvents, EveryEndPathAppendsOneEventPerLeaseEnded) {
  ASSERT_TRUE(store_->putTicket(ticketRow("T1", "approved", 100)).ok());
  ASSERT_TRUE(store_->putTicket(ticketRow("T2", "approved", 100)).ok());
  ASSERT_TRUE(store_->putTicket(ticketRow("T3", "approved", 100, 5000)).ok());
  ASSERT_TRUE(store_->insertLease(leaseRow("c1", "T1", LeaseKind::kCertificate)).ok());
  ASSERT_TRUE(store_->insertLease(leaseRow("k1", "T1")).ok());
  for (const char* id : {"e1", "e2", "e3"})
    ASSERT_TRUE(store_->insertLease(leaseRow(id, "T0")).ok());
  ASSERT_TRUE(store_->insertLease(leaseRow("x1", "T0", LeaseKind::kToken, 3000)).ok());
  ASSERT_TRUE(store_->insertLease(leaseRow("a1", "T2", LeaseKind::kSsh)).ok());
  ASSERT_TRUE(store_->insertLease(leaseRow("w1", "T3")).ok());
  // Writes that touch leases without ending them append nothing.
  ASSERT_TRUE(store_->updateLeaseClaims("e3", "{\"step\":1}").ok());
  EXPECT_TRUE(eventsAfter(0).empty());

  // revokeTicket: both leases of T1, with what OCSP/CRL and introspection need.
  ASSERT_EQ(store_->revokeTicket("T1", "ticket_closed", 2000).value().size(), 2u);
  auto evs = eventsAfter(0);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs["c1"].seq, evs["k1"].seq);  // one statement
  EXPECT_EQ(evs["c1"].lease.kind, LeaseKind::kCertificate);
  EXPECT_EQ(evs["c1"].lease.serial, "5ec1");
  EXPECT_EQ(evs["k1"].lease.jti, "jti-k1");
  EXPECT_EQ(evs["k1"].lease.ticket, "T1");
  EXPECT_EQ(evs["k1"].state, LeaseState::kRevoked);
  EXPECT_EQ(evs["k1"].reason, "ticket_closed");
  EXPECT_EQ(evs["k1"].ended_at, 2000);
  EXPECT_GT(evs["k1"].created_at, 1'600'000'000'000);  // the store's wall clock, ms
  int64_t mark = lastSeq();
  // Again: nothing left active, nothing appended.
  EXPECT_TRUE(store_->revokeTicket("T1", "ticket_closed", 2100).value().empty());
  EXPECT_TRUE(eventsAfter(mark).empty());

  // endLeases / endLease: only those still active.
  ASSERT_EQ(store_->endLeases({"e1", "k1", "e2"}, LeaseState::kRevoked, "admin", 2200)
                .value()
                .size(),
            2u);
  evs = eventsAfter(mark);
  EXPECT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs.count("e1") + evs.count("e2"), 2u);
  mark = lastSeq();
  ASSERT_TRUE(store_->endLease("e3", LeaseState::kRevoked, "holder_revoked", 2300).ok());
  ASSERT_FALSE(store_->endLease("e3", LeaseState::kRevoked, "holder_revoked", 2301)
                   .value()
                   .has_value());
  evs = eventsAfter(mark);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs["e3"].reason, "holder_revoked");
  mark = lastSeq();

  // expireDue: expired, reason ttl.
  ASSERT_EQ(store_->expireDue(3000).value().size(), 1u);
  evs = eventsAfter(mark);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs["x1"].state, LeaseState::kExpired);
  EXPECT_EQ(evs["x1"].reason, "ttl");
  mark = lastSeq();

  // applyTicket with its effect, in the ticket write's transaction.
  auto applied = store_->applyTicket(ticketRow("T2", "closed", 200),
                                     {TicketEffect::Kind::kRevokeAll, "ticket_closed", 4000});
  ASSERT_TRUE(applied.ok());
  evs = eventsAfter(mark);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs["a1"].lease.kind, LeaseKind::kSsh);
  EXPECT_EQ(evs["a1"].ended_at, 4000);
  mark = lastSeq();

  // The window sweep.
  ASSERT_EQ(store_->endWindowsDue(4500, 6000).value().size(), 1u);
  evs = eventsAfter(mark);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs["w1"].reason, "window_ended");
  EXPECT_EQ(eventsAfter(0).size(), 8u);
}

TEST_F(PgRevocationEvents, ARolledBackEndLeavesNoEvent) {
  ASSERT_TRUE(store_->insertLease(leaseRow("r1", "T9")).ok());
  auto conn = pg::Conn::connect(env_->uri(), 5);
  ASSERT_TRUE(conn.ok());
  // An end as the store writes it: the lease leaves lease_active (whose DELETE appends the
  // event) and its end is written.
  const std::string end =
      "DELETE FROM lease_active WHERE id = 'r1'; "
      "INSERT INTO lease_ends (id, state, ended_at, reason) VALUES ('r1', 2, 5, 'admin'); ";
  ASSERT_TRUE((*conn)->exec("BEGIN; " + end + "ROLLBACK", "rolled back end").ok());
  EXPECT_TRUE(eventsAfter(0).empty());
  ASSERT_TRUE((*conn)->exec("BEGIN; " + end + "COMMIT", "committed end").ok());
  EXPECT_EQ(eventsAfter(0).size(), 1u);
}

TEST_F(PgRevocationEvents, PrunesByAgeAndTellsWhereAReaderStarts) {
  ASSERT_TRUE(store_->insertLease(leaseRow("p1", "T1")).ok());
  ASSERT_TRUE(store_->insertLease(leaseRow("p2", "T1")).ok());
  ASSERT_EQ(store_->revokeTicket("T1", "ticket_closed", 2000).value().size(), 2u);
  const int64_t seq = lastSeq();
  const int64_t future = 4'000'000'000'000;
  EXPECT_EQ(store_->revocationSeqBefore(1000).value(), 0);
  EXPECT_EQ(store_->revocationSeqBefore(future).value(), seq);
  EXPECT_EQ(store_->pruneRevocationEvents(1000).value(), 0);
  EXPECT_EQ(store_->pruneRevocationEvents(future).value(), 1);  // one statement, one event
  EXPECT_TRUE(eventsAfter(0).empty());
}

bool waitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// A NOTIFY reaches every listener of its database, and the other tests (run in parallel, each
// in a schema of its own) share the test server's: this one counts notifications, and kills a
// listener's backend, in a database of its own.
class OwnDatabase {
 public:
  explicit OwnDatabase(const std::string& server) : server_(server) {
    name_ = "jitb_listen_" + core::randomHex(8);
    auto c = pg::Conn::connect(server_, 5);
    created_ = c.ok() && (*c)->exec("CREATE DATABASE " + name_, "create database").ok();
    // postgresql://user:password@host:port/db[?query]: the same with this database.
    const size_t scheme = server_.find("://");
    const size_t path = scheme == std::string::npos ? scheme : server_.find('/', scheme + 3);
    if (path == std::string::npos) created_ = false;  // not a URI with a database in its path
    const size_t query = path == std::string::npos ? path : server_.find('?', path);
    if (created_)
      uri_ = server_.substr(0, path + 1) + name_ +
             (query == std::string::npos ? "" : server_.substr(query));
  }
  ~OwnDatabase() {
    auto c = pg::Conn::connect(server_, 5);
    if (c.ok()) (void)(*c)->exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", "drop");
  }
  bool created() const { return created_; }
  const std::string& uri() const { return uri_; }

 private:
  std::string server_, name_, uri_;
  bool created_ = false;
};

TEST_F(PgRevocationEvents, TheListenerHearsTheEndsCommitAndComesBackWhenItsConnectionDies) {
  OwnDatabase db(env_->serverUri());
  ASSERT_TRUE(db.created());
  auto opened = PgStore::open(db.uri());
  ASSERT_TRUE(opened.ok()) << opened.status().detail();
  store_ = std::move(*opened);
  std::atomic<int> woken{0};
  pg::Listener listener(db.uri(), [&] { ++woken; }, std::chrono::milliseconds(50));
  ASSERT_TRUE(waitFor([&] { return listener.listening(); }, std::chrono::seconds(5)));
  const int at_connect = woken.load();
  EXPECT_GE(at_connect, 1);  // told once on connecting: what it missed before is unknown
  ASSERT_TRUE(store_->insertLease(leaseRow("n1", "T1")).ok());
  ASSERT_TRUE(store_->insertLease(leaseRow("n2", "T1")).ok());
  ASSERT_EQ(store_->revokeTicket("T1", "ticket_closed", 2000).value().size(), 2u);
  // One statement, one notification, however many leases it ended.
  ASSERT_TRUE(waitFor([&] { return listener.notifications() >= 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(listener.notifications(), 1u);

  // Its server process killed (as a restart or a failover would): it reconnects by itself.
  auto admin = pg::Conn::connect(db.uri(), 5);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)
                  ->exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE query LIKE 'LISTEN%' AND datname = current_database()",
                         "kill the listener's backend")
                  .ok());
  // Told again on reconnecting (the notification above was the one wake-up between).
  ASSERT_TRUE(waitFor([&] { return woken.load() >= at_connect + 2; }, std::chrono::seconds(5)));
  ASSERT_TRUE(waitFor([&] { return listener.listening(); }, std::chrono::seconds(5)));
  ASSERT_TRUE(store_->insertLease(leaseRow("n3", "T3")).ok());
  ASSERT_EQ(store_->revokeTicket("T3", "ticket_closed", 2000).value().size(), 1u);
  EXPECT_TRUE(waitFor([&] { return listener.notifications() >= 2; }, std::chrono::seconds(5)));
  listener.stop();
  store_.reset();  // before its database is dropped
}

}  // namespace
}  // namespace jitb::store
