#include "broker/store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <future>
#include <thread>

#include "broker/core/files.h"
#include "broker/store/wal_vfs.h"
#include "tests/support/store_rows.h"

namespace jitb::store {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jitb-store-" + core::randomHex(6));
    fs::create_directories(dir_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto s = SqliteStore::open((dir_ / "broker.db").string());
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  static LeaseRow lease(std::string id, std::string ticket, LeaseKind kind = LeaseKind::kToken,
                        int64_t expires = 10'000) {
    return jitb::testing::leaseRow(std::move(id), std::move(ticket), kind, expires);
  }
  fs::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, TicketWritesAreConditionalOnUpdatedAtAndTerminalState) {
  TicketRow t{"CHG1", "approved", 100, 5000, "{}", 1};
  EXPECT_EQ(*store_->putTicket(t), TicketWrite::kApplied);
  EXPECT_EQ(*store_->putTicket(t), TicketWrite::kIgnoredNotNewer);  // replay
  TicketRow older = t;
  older.updated_at = 50;
  older.state = "pending";
  EXPECT_EQ(*store_->putTicket(older), TicketWrite::kIgnoredNotNewer);
  TicketRow closed = t;
  closed.updated_at = 200;
  closed.state = "closed";
  EXPECT_EQ(*store_->putTicket(closed), TicketWrite::kApplied);
  TicketRow reopen = t;
  reopen.updated_at = 300;
  EXPECT_EQ(*store_->putTicket(reopen), TicketWrite::kIgnoredTerminal);
  auto got = store_->getTicket("CHG1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state, "closed");
  EXPECT_FALSE(store_->getTicket("nope")->has_value());
}

TEST_F(SqliteStoreTest, LeasesAreFoundByIdJtiAndSerialAndSurviveReopen) {
  ASSERT_TRUE(store_->insertLease(lease("L1", "CHG1")).ok());
  ASSERT_TRUE(store_->insertLease(lease("L2", "CHG1", LeaseKind::kCertificate)).ok());
  reopen();
  auto a = store_->getLease("L1");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->jti, "jti-L1");
  EXPECT_EQ((*a)->state, LeaseState::kActive);
  EXPECT_EQ((*store_->findLeaseByJti("jti-L1"))->id, "L1");
  EXPECT_EQ((*store_->findLeaseBySerial("5eL2"))->id, "L2");
  EXPECT_FALSE(store_->findLeaseByJti("jti-none")->has_value());
}

TEST_F(SqliteStoreTest, DuplicateJtiIsRefusedWithoutDisturbingOthers) {
  ASSERT_TRUE(store_->insertLease(lease("L1", "T")).ok());
  LeaseRow dup = lease("L2", "T");
  dup.jti = "jti-L1";
  EXPECT_FALSE(store_->insertLease(dup).ok());
  EXPECT_TRUE(store_->insertLease(lease("L3", "T")).ok());
  EXPECT_FALSE(store_->getLease("L2")->has_value());
}

TEST_F(SqliteStoreTest, RevokeTicketEndsOnlyThatTicketsActiveLeasesInOneStatement) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->insertLease(lease("A" + std::to_string(i), "T1")).ok());
  ASSERT_TRUE(store_->insertLease(lease("B", "T2")).ok());
  auto ended = store_->revokeTicket("T1", "ticket_closed", 2000);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->size(), 50u);
  auto again = store_->revokeTicket("T1", "ticket_closed", 2001);
  EXPECT_TRUE(again->empty());
  auto a = *store_->getLease("A7");
  EXPECT_EQ(a->state, LeaseState::kRevoked);
  EXPECT_EQ(a->reason, "ticket_closed");
  EXPECT_EQ(a->ended_at, 2000);
  EXPECT_EQ((*store_->getLease("B"))->state, LeaseState::kActive);
}

TEST_F(SqliteStoreTest, ACommitsWalFramesReachTheFileInOneWrite) {
  ASSERT_TRUE(store_->insertLease(lease("L0", "T1")).ok());  // the WAL's header is written
  WalWrites before = walWrites();
  ASSERT_TRUE(store_->insertLease(lease("L1", "T1")).ok());
  WalWrites after = walWrites();
  // The row and its index entries dirty several pages (seven here), each frame written by
  // SQLite with two calls; one write reaches the file.
  EXPECT_GE(after.received - before.received, 10u);
  EXPECT_EQ(after.written - before.written, 1u);
  reopen();
  EXPECT_EQ((*store_->findLeaseByJti("jti-L1"))->id, "L1");
}

TEST_F(SqliteStoreTest, ATransactionLargerThanTheGatheringLimitCommitsWhole) {
  const std::string claims(2000, 'c');
  for (int i = 0; i < 1000; ++i) {
    LeaseRow l = lease("A" + std::to_string(i), "T1");
    l.claims = claims;
    ASSERT_TRUE(store_->insertLease(l).ok());
  }
  // One UPDATE of 1,000 rows of 2 KB: several MB of frames in one commit.
  auto ended = store_->revokeTicket("T1", "ticket_closed", 2000);
  ASSERT_TRUE(ended.ok()) << ended.status().message() << ended.status().detail();
  EXPECT_EQ(ended->size(), 1000u);
  reopen();
  int active = 0;
  ASSERT_TRUE(store_->forEachActive([&](const LeaseRow&) { ++active; }).ok());
  EXPECT_EQ(active, 0);
  EXPECT_EQ((*store_->getLease("A999"))->state, LeaseState::kRevoked);
  EXPECT_EQ((*store_->getLease("A999"))->claims, claims);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "broker.db").string().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, ExpireDueAndEndLease) {
  ASSERT_TRUE(store_->insertLease(lease("E1", "T", LeaseKind::kToken, 100)).ok());
  ASSERT_TRUE(store_->insertLease(lease("E2", "T", LeaseKind::kToken, 200)).ok());
  auto ended = store_->expireDue(150);
  ASSERT_EQ(ended->size(), 1u);
  EXPECT_EQ((*ended)[0].id, "E1");
  EXPECT_EQ((*store_->getLease("E1"))->state, LeaseState::kExpired);
  auto one = store_->endLease("E2", LeaseState::kRevoked, "holder", 160);
  ASSERT_TRUE(one->has_value());
  EXPECT_FALSE(store_->endLease("E2", LeaseState::kRevoked, "holder", 170)->has_value());
  EXPECT_FALSE(store_->endLease("E1", LeaseState::kRevoked, "late", 170)->has_value());
}

TEST_F(SqliteStoreTest, RevokedUnexpiredCertificatesAreTheCrlEntries) {
  ASSERT_TRUE(store_->insertLease(lease("C1", "T", LeaseKind::kCertificate, 5000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("C2", "T", LeaseKind::kCertificate, 1500)).ok());
  ASSERT_TRUE(store_->insertLease(lease("K1", "T", LeaseKind::kToken, 5000)).ok());
  ASSERT_TRUE(store_->revokeTicket("T", "ticket_closed", 1200).ok());
  auto before = store_->revokedUnexpiredCertificates(1300);
  EXPECT_EQ(before->size(), 2u);
  auto after = store_->revokedUnexpiredCertificates(2000);  // C2 expired: drops off
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].id, "C1");
}

TEST_F(SqliteStoreTest, ListLeasesFiltersAndPaginates) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->insertLease(lease("P" + std::to_string(i), "T1")).ok());
  ASSERT_TRUE(store_->insertLease(lease("Q", "T2")).ok());
  LeaseFilter f;
  f.ticket = "T1";
  f.limit = 2;
  auto page1 = *store_->listLeases(f);
  ASSERT_EQ(page1.size(), 2u);
  f.after_id = page1.back().id;
  auto page2 = *store_->listLeases(f);
  ASSERT_EQ(page2.size(), 2u);
  EXPECT_GT(page2.front().id, page1.back().id);
  f.after_id.clear();
  f.limit = 100;
  f.state = LeaseState::kRevoked;
  EXPECT_TRUE(store_->listLeases(f)->empty());
}

TEST_F(SqliteStoreTest, ActiveTicketsListOnlyTicketsWithActiveLeases) {
  ASSERT_EQ(*store_->putTicket({"OLD", "approved", 1, 1000, "{}", 1}), TicketWrite::kApplied);
  ASSERT_EQ(*store_->putTicket({"IDLE", "approved", 1, 9000, "{}", 1}), TicketWrite::kApplied);
  ASSERT_TRUE(store_->insertLease(lease("X", "OLD")).ok());
  ASSERT_TRUE(store_->insertLease(lease("Y", "GONE")).ok());  // no ticket row
  auto active = *store_->activeTickets();
  ASSERT_EQ(active.size(), 2u);
  std::sort(active.begin(), active.end(), [](auto& a, auto& b) { return a.id < b.id; });
  EXPECT_EQ(active[0].id, "GONE");
  EXPECT_EQ(active[0].state, "unknown");
  EXPECT_EQ(active[1].id, "OLD");
  EXPECT_EQ(active[1].window_end, 1000);
  auto ended = *store_->revokeTicket("OLD", "window_ended", 1001);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].ticket, "OLD");
  EXPECT_EQ(ended[0].subject, "repo:acme/api");
}

TEST_F(SqliteStoreTest, CountersAreMonotonicAcrossReopen) {
  EXPECT_EQ(*store_->nextCounter("crl"), 1);
  EXPECT_EQ(*store_->nextCounter("crl"), 2);
  reopen();
  EXPECT_EQ(*store_->nextCounter("crl"), 3);
}

TEST_F(SqliteStoreTest, ConcurrentInsertsShareCommits) {
  constexpr int kThreads = 8, kEach = 100;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        ASSERT_TRUE(store_->insertLease(lease("G" + std::to_string(t) + "-" + std::to_string(i), "T")).ok());
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(store_->committedOps(), static_cast<uint64_t>(kThreads * kEach));
  EXPECT_LT(store_->commits(), store_->committedOps());  // group commit happened
  int n = 0;
  ASSERT_TRUE(store_->forEachActive([&](const LeaseRow&) { ++n; }).ok());
  EXPECT_EQ(n, kThreads * kEach);
}

// The completion runs once the lease is committed, with the ticket as that transaction read
// it: the lease manager relies on seeing a close committed just before the insert.
TEST_F(SqliteStoreTest, AsyncInsertCompletesAfterCommitWithTheTicketItRead) {
  ASSERT_EQ(*store_->putTicket({"CHG1", "closed", 100, 5000, "{}", 1}), TicketWrite::kApplied);
  struct Outcome {
    core::Status st;
    std::optional<TicketState> ticket;
    bool committed = false;
  };
  std::promise<Outcome> known, unknown, dup;
  store_->insertLeaseAsync(lease("A1", "CHG1"), [&](core::Status st, std::optional<TicketState> t) {
    // Visible to readers by the time the completion runs.
    bool committed = store_->getLease("A1")->has_value();
    known.set_value({st, t, committed});
  });
  store_->insertLeaseAsync(lease("A2", "NOPE"), [&](core::Status st, std::optional<TicketState> t) {
    unknown.set_value({st, t});
  });
  store_->insertLeaseAsync(lease("A1", "CHG1"), [&](core::Status st, std::optional<TicketState> t) {
    dup.set_value({st, t});
  });
  Outcome k = known.get_future().get();
  ASSERT_TRUE(k.st.ok()) << k.st.message();
  EXPECT_TRUE(k.committed);
  ASSERT_TRUE(k.ticket.has_value());
  EXPECT_EQ(k.ticket->state, "closed");
  EXPECT_EQ(k.ticket->window_end, 5000);
  Outcome u = unknown.get_future().get();
  EXPECT_TRUE(u.st.ok());
  EXPECT_FALSE(u.ticket.has_value());
  EXPECT_FALSE(dup.get_future().get().st.ok());  // same id: refused, the others unharmed
  EXPECT_TRUE(store_->getLease("A2")->has_value());
}

TEST_F(SqliteStoreTest, WritesQueuedBeforeCloseRunAndLaterOnesAreRefused) {
  std::vector<std::promise<core::Status>> done(20);
  for (int i = 0; i < 20; ++i)
    store_->insertLeaseAsync(lease("Q" + std::to_string(i), "T"),
                             [&, i](core::Status st, auto) { done[i].set_value(st); });
  store_->close();
  for (auto& d : done) EXPECT_TRUE(d.get_future().get().ok());
  std::promise<core::Status> late;
  store_->insertLeaseAsync(lease("late", "T"), [&](core::Status st, auto) { late.set_value(st); });
  EXPECT_EQ(late.get_future().get().code(), core::Code::kUnavailable);
  EXPECT_EQ(store_->insertLease(lease("late2", "T")).code(), core::Code::kUnavailable);
  reopen();
  int n = 0;
  ASSERT_TRUE(store_->forEachActive([&](const LeaseRow&) { ++n; }).ok());
  EXPECT_EQ(n, 20);
}

}  // namespace
}  // namespace jitb::store

namespace jitb::store {
namespace {

// A hook's payload is JSON whatever a reason holds, and the lease's caller survives a reopen.
TEST_F(SqliteStoreTest, HookPayloadsAreJsonAndEndLeasesEndsOnlyActiveOnes) {
  store_->enableRevocationJobs();
  LeaseRow l = lease("H1", "T1");
  l.caller_issuer = "https://a.example";
  l.caller_claims = R"({"sub":"s"})";
  ASSERT_TRUE(store_->insertLease(l).ok());
  ASSERT_TRUE(store_->insertLease(lease("H2", "T1")).ok());
  const std::string reason = "odd \"reason\" \\ with\nnewline";
  auto ended = store_->endLeases({"H1", "H2", "nope"}, LeaseState::kRevoked, reason, 5);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->size(), 2u);
  EXPECT_TRUE(store_->endLeases({"H1"}, LeaseState::kRevoked, "again", 6)->empty());
  auto jobs = store_->dueJobs(10, 10);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 2u);
  boost::json::value v = boost::json::parse((*jobs)[0].payload);
  EXPECT_EQ(v.at("reason").as_string(), reason);
  EXPECT_EQ(v.at("event").as_string(), "lease.revoked");
  EXPECT_EQ((*store_->getLease("H1"))->caller_issuer, "https://a.example");
  EXPECT_EQ((*store_->getLease("H1"))->caller_claims, R"({"sub":"s"})");
}

// A database written before the schema was kept in numbered files (the original tables, no
// caller columns, user_version 0) opens, gains the later columns, and keeps its leases.
TEST_F(SqliteStoreTest, DatabaseFromBeforeNumberedFilesIsMigratedInPlace) {
  store_.reset();
  const std::string path = (dir_ / "old.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* old_schema =
      "CREATE TABLE tickets (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT "
      "NULL, window_end INTEGER NOT NULL, json TEXT NOT NULL, received_at INTEGER NOT NULL);"
      "CREATE TABLE leases (id TEXT PRIMARY KEY, kind INTEGER NOT NULL, ticket TEXT NOT NULL, "
      "grant_name TEXT NOT NULL, subject TEXT NOT NULL, state INTEGER NOT NULL, issued_at "
      "INTEGER NOT NULL, expires_at INTEGER NOT NULL, ended_at INTEGER NOT NULL DEFAULT 0, "
      "reason TEXT NOT NULL DEFAULT '', jti TEXT, serial TEXT, claims TEXT NOT NULL DEFAULT '', "
      "review INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, expires_at, "
      "jti) VALUES ('OLD1', 0, 'CHG1', 'g', 'alice', 0, 1, 10000, 'j-old');";
  ASSERT_EQ(sqlite3_exec(db, old_schema, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto s = SqliteStore::open(path);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto old = (*s)->getLease("OLD1");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->jti, "j-old");
  EXPECT_EQ((*old)->caller_issuer, "");
  LeaseRow fresh = lease("NEW1", "CHG1");
  fresh.caller_issuer = "https://a.example";
  ASSERT_TRUE((*s)->insertLease(fresh).ok());
  EXPECT_EQ((*(*s)->getLease("NEW1"))->caller_issuer, "https://a.example");
}

// A schema newer than the binary knows is refused rather than written by older code.
TEST_F(SqliteStoreTest, SchemaNewerThanTheBinaryIsRefused) {
  store_.reset();
  const std::string path = (dir_ / "broker.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteStore::open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().detail().find("newer"), std::string::npos);
}

}  // namespace
}  // namespace jitb::store

namespace jitb::store {
namespace {

// A database with active leases from before the store counted them: the migration starts the
// counts from those leases, so the quotas hold from the first insert after the upgrade.
TEST_F(SqliteStoreTest, TheMigrationCountsTheLeasesAlreadyActive) {
  store_.reset();
  const std::string path = (dir_ / "counted.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* old_schema =
      "CREATE TABLE leases (id TEXT PRIMARY KEY, kind INTEGER NOT NULL, ticket TEXT NOT NULL, "
      "grant_name TEXT NOT NULL, subject TEXT NOT NULL, state INTEGER NOT NULL, issued_at "
      "INTEGER NOT NULL, expires_at INTEGER NOT NULL, ended_at INTEGER NOT NULL DEFAULT 0, "
      "reason TEXT NOT NULL DEFAULT '', jti TEXT, serial TEXT, claims TEXT NOT NULL DEFAULT '', "
      "review INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, expires_at) "
      "VALUES ('a1', 0, 'T1', 'g', 'alice', 0, 1, 99000), ('a2', 0, 'T1', 'g', 'alice', 0, 1, "
      "99000), ('a3', 0, 'T2', 'g', 'alice', 0, 1, 99000), ('a4', 0, 'T2', 'g', 'alice', 1, 1, "
      "500), ('b1', 0, 'T2', 'g', 'bob', 0, 1, 99000);";
  ASSERT_EQ(sqlite3_exec(db, old_schema, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto s = SqliteStore::open(path);
  ASSERT_TRUE(s.ok()) << s.status().message() << ": " << s.status().detail();
  (*s)->setLeaseQuotas({3, 3});
  auto leaseOf = [](const std::string& id, const std::string& ticket, const std::string& subject) {
    LeaseRow l = jitb::testing::leaseRow(id, ticket);
    l.subject = subject;
    return l;
  };
  // alice has three active (a4 ended), T2 has three active (a3, b1 and a4 ended: two).
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
