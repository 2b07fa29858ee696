// Crash points between persisting an issuance and answering it, and what a restart sees:
// a real SQLite store and audit log in a temp dir, leases::restoreIssuanceRecords at "start".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "broker/core/files.h"
#include "broker/leases/issuance_records.h"
#include "broker/store/sqlite_store.h"
#include "tests/unit/issuing/service_fixture.h"

namespace jitb::testing {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;

class CrashPointsTest : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    dir_ = std::filesystem::temp_directory_path() / ("jitb-crash-" + core::randomHex(6));
    std::filesystem::create_directories(dir_);
    auto s = store::SqliteStore::open((dir_ / "broker.db").string());
    ASSERT_TRUE(s.ok()) << s.status().message();
    db_ = std::move(*s);
    real_leases_ = std::make_unique<leases::LeaseManager>(*db_, audit_, clock_, leases::Quotas{},
                                                          metrics_);
    ASSERT_TRUE(real_leases_->start().ok());
    on_disk_ = std::make_unique<issuing::IssuanceService>(issuing::ServiceDeps{
        callers_, tokens_, nullptr, policies_, tickets_, *real_leases_, *db_, audit_, clock_,
        metrics_});
    on_disk_->addMinter(token_minter_);
  }
  void TearDown() override {
    on_disk_.reset();
    real_leases_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The store completes on its writer thread: waits for the answer (bounded).
  std::optional<issuing::Outcome> issueOnDisk(issuing::IssuanceService& s) {
    auto p = std::make_shared<std::promise<issuing::Outcome>>();
    auto f = p->get_future();
    s.issue(tokenRequest(), [p](issuing::Outcome o) { p->set_value(std::move(o)); },
            [](std::function<void()> fn) { std::thread(std::move(fn)).detach(); });
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return std::nullopt;
    return f.get();
  }
  std::unique_ptr<audit::AuditLog> openLog() {
    auto log = audit::AuditLog::open((dir_ / "audit.log").string(), clock_);
    EXPECT_TRUE(log.ok()) << log.status().message();
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::string logText() {
    std::ifstream in(dir_ / "audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  store::LeaseRow onlyLease() {
    auto all = db_->listLeases({});
    EXPECT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 1u);
    return all->empty() ? store::LeaseRow{} : all->front();
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> db_;
  std::unique_ptr<leases::LeaseManager> real_leases_;
  std::unique_ptr<issuing::IssuanceService> on_disk_;
};

// Answered, then power lost before the log's sync: the lease is durable, its records are not.
// At start the store gives them back, marked recovered.
TEST_F(CrashPointsTest, AnsweredButAuditLostIsRestoredFromTheStore) {
  {
    auto log = openLog();  // the broker ran: its log holds a record from just before
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append("broker.started", {}).ok());
  }
  auto out = issueOnDisk(*on_disk_);  // audit_ acknowledges once written, then "loses" them
  ASSERT_TRUE(out);
  ASSERT_NE(std::get_if<issuing::Issued>(&*out), nullptr);
  const std::string id = std::get<issuing::Issued>(*out).lease_id;
  EXPECT_EQ(onlyLease().state, store::LeaseState::kActive);
  EXPECT_THAT(logText(), Not(HasSubstr(id)));

  auto log = openLog();  // restart
  ASSERT_TRUE(log);
  auto restored = leases::restoreIssuanceRecords(*db_, *log);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_EQ(*restored, 1u);
  log.reset();
  const std::string text = logText();
  EXPECT_THAT(text, HasSubstr(id));
  EXPECT_THAT(text, HasSubstr("\"recovered\":true"));
}

// The lease became durable but its audit failed: revoked as audit_failed, never handed out,
// and not "restored" into the log at start.
TEST_F(CrashPointsTest, LeaseDurableButAuditFailedStaysRevokedAcrossARestart) {
  {
    auto log = openLog();
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append("broker.started", {}).ok());
  }
  EXPECT_CALL(audit_, appendAllThen(_, _, audit::AuditSink::Durability::kWritten))
      .WillOnce([](std::vector<audit::Record>, audit::AuditSink::Done done,
                   audit::AuditSink::Durability) { done(core::unavailable("EIO")); });
  auto out = issueOnDisk(*on_disk_);
  ASSERT_TRUE(out);
  ASSERT_NE(std::get_if<core::Status>(&*out), nullptr);
  store::LeaseRow l = onlyLease();
  EXPECT_EQ(l.state, store::LeaseState::kRevoked);
  EXPECT_EQ(l.reason, "audit_failed");

  auto log = openLog();
  ASSERT_TRUE(log);
  auto restored = leases::restoreIssuanceRecords(*db_, *log);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(*restored, 0u);
  log.reset();
  EXPECT_THAT(logText(), Not(HasSubstr(l.id)));
}

// The records were written but the lease was not: the log says it was aborted right after,
// and a restart finds no lease to restore.
TEST_F(CrashPointsTest, AuditWrittenButLeaseNotIsAbortedInTheLog) {
  auto log = openLog();
  ASSERT_TRUE(log);
  ON_CALL(store_, insertLeaseAsync).WillByDefault([](store::LeaseRow, store::InsertDone done) {
    done(core::internalError("SQLITE_FULL"), std::nullopt);
  });
  issuing::IssuanceService with_log({callers_, tokens_, nullptr, policies_, tickets_, *leases_,
                                     store_, *log, clock_, metrics_});
  with_log.addMinter(token_minter_);
  auto out = issueOnDisk(with_log);
  ASSERT_TRUE(out);
  ASSERT_NE(std::get_if<core::Status>(&*out), nullptr);
  log.reset();
  const std::string text = logText();
  size_t issued = text.find("\"lease.issued\""), aborted = text.find("\"lease.aborted\"");
  ASSERT_NE(issued, std::string::npos);
  ASSERT_NE(aborted, std::string::npos);
  EXPECT_LT(issued, aborted);

  log = openLog();  // restart: the mock store has no lease to give back
  ASSERT_TRUE(log);
  ON_CALL(store_, listLeases).WillByDefault([](const store::LeaseFilter&) {
    return core::StatusOr<std::vector<store::LeaseRow>>(std::vector<store::LeaseRow>{});
  });
  auto restored = leases::restoreIssuanceRecords(store_, *log);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(*restored, 0u);
}

}  // namespace
}  // namespace jitb::testing
