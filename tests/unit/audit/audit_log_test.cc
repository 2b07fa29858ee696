#include "broker/audit/audit_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "tests/support/fake_clock.h"

namespace jitb::audit {
namespace {

namespace fs = std::filesystem;

// Holds a sync until opened.
class Gate {
 public:
  void wait() { f_.wait(); }
  void open() {
    if (!opened_.exchange(true)) p_.set_value();
  }

 private:
  std::promise<void> p_;
  std::shared_future<void> f_ = p_.get_future().share();
  std::atomic<bool> opened_{false};
};

// Declared after the log: opens the gate before the log closes, whatever the test asserted, so
// that its syncer never waits forever.
struct OpensAtExit {
  Gate& gate;
  ~OpensAtExit() { gate.open(); }
};

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jitb-audit-" + core::randomHex(6));
    fs::create_directories(dir_);
    path_ = (dir_ / "audit.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> lines() {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  VerifyResult verifyLines(const std::vector<std::string>& ls) {
    std::stringstream ss;
    for (const auto& l : ls) ss << l << "\n";
    return verifyAuditLog(ss);
  }
  void write(int n) {
    auto log = AuditLog::open(path_, clock_);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "L" + std::to_string(i)}}).ok());
  }
  fs::path dir_;
  std::string path_;
  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
};

TEST_F(AuditLogTest, RecordsAreChainedAndVerify) {
  write(5);
  auto ls = lines();
  ASSERT_EQ(ls.size(), 5u);
  auto first = boost::json::parse(ls[0]).as_object();
  EXPECT_EQ(first.at("seq").as_int64(), 1);
  EXPECT_EQ(first.at("event").as_string(), "lease.issued");
  EXPECT_EQ(first.at("time").as_string(), "2026-11-23T18:00:00Z");
  EXPECT_EQ(first.at("prev").as_string(), std::string(64, '0'));
  auto second = boost::json::parse(ls[1]).as_object();
  EXPECT_EQ(second.at("prev").as_string(), first.at("hash").as_string());
  EXPECT_TRUE(verifyLines(ls).ok);
  EXPECT_EQ(verifyLines(ls).lines, 5u);
}

TEST_F(AuditLogTest, RecordLayoutIsSeqTimeEventFieldsInOrderThenTheChain) {
  {
    auto log = AuditLog::open(path_, clock_);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "L\"1"},
                                                {"time", "forged"},
                                                {"basis", {{"rules", {1, 2}}}},
                                                {"event", "forged"},
                                                {"n", 7}}).ok());
  }
  auto ls = lines();
  ASSERT_EQ(ls.size(), 1u);
  const std::string head =
      R"({"seq":1,"time":"2026-11-23T18:00:00Z","event":"lease.issued","lease":"L\"1",)"
      R"("basis":{"rules":[1,2]},"n":7,"prev":")";
  EXPECT_EQ(ls[0].substr(0, head.size()), head);
  EXPECT_TRUE(verifyLines(ls).ok);
}

TEST_F(AuditLogTest, JsonTextFieldsFollowTheObjectsFieldsAndChain) {
  {
    auto log = AuditLog::open(path_, clock_);
    ASSERT_TRUE(log.ok());
    std::vector<Record> rs;
    rs.push_back({"decision.allowed",
                  {{"ticket", "T-1"}},
                  {{"basis", R"({"allowed":true,"rules":[{"rule":"ticket.state"}]})"},
                   {"event", R"("forged")"},
                   {"n", "7"}}});
    rs.push_back({"lease.issued", {{"lease", "L-1"}}});
    ASSERT_TRUE((*log)->appendAll(std::move(rs)).ok());
  }
  auto ls = lines();
  ASSERT_EQ(ls.size(), 2u);
  const std::string head =
      R"({"seq":1,"time":"2026-11-23T18:00:00Z","event":"decision.allowed","ticket":"T-1",)"
      R"("basis":{"allowed":true,"rules":[{"rule":"ticket.state"}]},"n":7,"prev":")";
  EXPECT_EQ(ls[0].substr(0, head.size()), head);
  EXPECT_TRUE(verifyLines(ls).ok);
}

TEST_F(AuditLogTest, ChainContinuesAcrossReopen) {
  write(3);
  write(2);
  auto ls = lines();
  ASSERT_EQ(ls.size(), 5u);
  EXPECT_EQ(boost::json::parse(ls[4]).at("seq").as_int64(), 5);
  EXPECT_TRUE(verifyLines(ls).ok);
}

TEST_F(AuditLogTest, EditedLineIsCaught) {
  write(4);
  auto ls = lines();
  ls[2].replace(ls[2].find("L2"), 2, "L9");
  auto r = verifyLines(ls);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 3u);
}

TEST_F(AuditLogTest, RemovedLineIsCaught) {
  write(4);
  auto ls = lines();
  ls.erase(ls.begin() + 1);
  auto r = verifyLines(ls);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 2u);
}

TEST_F(AuditLogTest, SwappedLinesAreCaught) {
  write(4);
  auto ls = lines();
  std::swap(ls[1], ls[2]);
  auto r = verifyLines(ls);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 2u);
}

TEST_F(AuditLogTest, RehashedEditStillBreaksTheNextLink) {
  // An attacker who edits a line and recomputes its own hash breaks the next line's prev.
  write(3);
  auto ls = lines();
  std::string& l = ls[1];
  l.replace(l.find("L1"), 2, "LX");
  std::string body = l.substr(0, l.rfind(",\"hash\":\"")) + "}";
  l = body.substr(0, body.size() - 1) + ",\"hash\":\"" + sha256Hex(body) + "\"}";
  auto r = verifyLines(ls);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 3u);
}

TEST_F(AuditLogTest, TornLastLineIsCutOnOpen) {
  write(2);
  {
    std::ofstream out(path_, std::ios::app);
    out << "{\"seq\":3,\"time\":\"2026";  // a crash mid-write
  }
  write(1);
  auto ls = lines();
  ASSERT_EQ(ls.size(), 3u);
  EXPECT_TRUE(verifyLines(ls).ok);
}

TEST_F(AuditLogTest, ConcurrentAppendsKeepOneChain) {
  auto log = AuditLog::open(path_, clock_);
  ASSERT_TRUE(log.ok());
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE((*log)->append("x", {}).ok());
    });
  for (auto& t : ts) t.join();
  log->reset();
  auto ls = lines();
  EXPECT_EQ(ls.size(), 400u);
  EXPECT_TRUE(verifyLines(ls).ok);
}

TEST_F(AuditLogTest, RotationBySizeKeepsOneChainAcrossFiles) {
  {
    auto log = AuditLog::open(path_, clock_, 1000);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 40; ++i) {
      clock_.advance(std::chrono::milliseconds(1));  // distinct rotated names
      ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "L" + std::to_string(i)}}).ok());
    }
  }
  std::vector<fs::path> rotated;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().filename() != "audit.log") rotated.push_back(e.path());
  std::sort(rotated.begin(), rotated.end());
  ASSERT_GE(rotated.size(), 2u);
  std::string prev;
  size_t total = 0;
  for (const auto& f : rotated) {
    EXPECT_LE(fs::file_size(f), 1000u + 400u);  // rotated once past the limit
    std::ifstream in(f);
    VerifyResult r = verifyAuditLog(in, prev);
    ASSERT_TRUE(r.ok) << f << ": " << r.message;
    prev = r.last_hash;
    total += r.lines;
  }
  std::ifstream live(path_);
  VerifyResult last = verifyAuditLog(live, prev);
  EXPECT_TRUE(last.ok) << last.message;
  EXPECT_EQ(total + last.lines, 40u);
  std::ifstream alone(rotated[1]);
  EXPECT_FALSE(verifyAuditLog(alone).ok);  // a later file links back to the one before it
}

TEST_F(AuditLogTest, AppendersNeverRotateTheFileTheWriterThreadDoes) {
  std::mutex m;
  std::vector<std::thread::id> syncers;  // rotation syncs the full file before renaming it
  {
    auto log = AuditLog::open(path_, clock_, 1000, [&](int fd) {
      std::lock_guard lk(m);
      syncers.push_back(std::this_thread::get_id());
      return ::fdatasync(fd);
    });
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 40; ++i) {
      clock_.advance(std::chrono::milliseconds(1));
      std::promise<core::Status> p;
      (*log)->appendAllThen({{"lease.issued", {{"lease", "L" + std::to_string(i)}}}},
                            [&](core::Status st) { p.set_value(st); },
                            AuditSink::Durability::kWritten);
      ASSERT_TRUE(p.get_future().get().ok());
    }
  }
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.path().filename() != "audit.log";
  EXPECT_GE(files, 2u);
  std::lock_guard lk(m);
  EXPECT_EQ(std::count(syncers.begin(), syncers.end(), std::this_thread::get_id()), 0);
}

TEST_F(AuditLogTest, ACompletionThatThrowsDoesNotWedgeTheLog) {
  auto log = AuditLog::open(path_, clock_);
  ASSERT_TRUE(log.ok());
  EXPECT_NO_THROW((*log)->appendAllThen({{"a", {}}},
                                        [](core::Status) { throw std::runtime_error("bug"); },
                                        AuditSink::Durability::kWritten));
  // Later appends are written and close returns (in a thread, so a hang fails, not blocks).
  auto later = std::async(std::launch::async, [&] {
    core::Status st = (*log)->append("b", {});
    (*log)->close();
    return st;
  });
  ASSERT_EQ(later.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(later.get().ok());
  auto ls = lines();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_TRUE(verifyLines(ls).ok);
}

TEST_F(AuditLogTest, AsyncAppendCompletesWhenWrittenAndCloseFlushesTheQueue) {
  auto log = AuditLog::open(path_, clock_);
  ASSERT_TRUE(log.ok());
  std::vector<std::promise<size_t>> seen(30);
  for (int i = 0; i < 30; ++i) {
    std::vector<Record> rs;
    rs.push_back({"a", {{"i", i}}});
    rs.push_back({"b", {{"i", i}}});
    // Inside the completion the records are already in the file.
    (*log)->appendAllThen(std::move(rs), [&, i](core::Status st) {
      seen[i].set_value(st.ok() ? lines().size() : 0);
    });
  }
  (*log)->close();
  for (int i = 0; i < 30; ++i) EXPECT_GE(seen[i].get_future().get(), 2u * (i + 1)) << i;
  std::promise<core::Status> late;
  (*log)->appendAllThen({{"late", {}}}, [&](core::Status st) { late.set_value(st); });
  EXPECT_EQ(late.get_future().get().code(), core::Code::kUnavailable);
  EXPECT_EQ((*log)->append("late", {}).code(), core::Code::kUnavailable);
  auto ls = lines();
  EXPECT_EQ(ls.size(), 60u);
  EXPECT_TRUE(verifyLines(ls).ok);
  // Each call's records stay together, in order.
  for (size_t i = 0; i < ls.size(); i += 2) {
    EXPECT_NE(ls[i].find("\"event\":\"a\""), std::string::npos);
    EXPECT_NE(ls[i + 1].find("\"event\":\"b\""), std::string::npos);
  }
}

TEST_F(AuditLogTest, WrittenAppendsCompleteBeforeTheirSyncSyncedOnesAfter) {
  Gate gate;
  std::atomic<int> syncs{0};
  auto log = AuditLog::open(path_, clock_, 0, [&](int fd) {
    gate.wait();  // held until the test lets go
    ++syncs;
    return ::fdatasync(fd);
  });
  OpensAtExit at_exit{gate};
  ASSERT_TRUE(log.ok());
  std::promise<core::Status> written, synced;
  (*log)->appendAllThen({{"lease.issued", {{"lease", "W"}}}},
                        [&](core::Status st) { written.set_value(st); },
                        AuditSink::Durability::kWritten);
  std::future<core::Status> w = written.get_future();
  ASSERT_EQ(w.wait_for(std::chrono::seconds(10)), std::future_status::ready);  // sync held
  EXPECT_TRUE(w.get().ok());
  EXPECT_EQ(lines().size(), 1u);
  EXPECT_EQ(syncs.load(), 0);
  (*log)->appendAllThen({{"denial", {}}}, [&](core::Status st) { synced.set_value(st); });
  std::future<core::Status> s = synced.get_future();
  EXPECT_EQ(s.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  gate.open();
  EXPECT_TRUE(s.get().ok());
  EXPECT_GE(syncs.load(), 1);
  (*log)->close();
  EXPECT_TRUE(verifyLines(lines()).ok);
}

TEST_F(AuditLogTest, WrittenAppendsAreSyncedAtMostOncePerIntervalSyncedOnesAtOnce) {
  std::atomic<int> syncs{0};
  // An interval no test outlasts: only the first sync and those someone waits for happen.
  auto log = AuditLog::open(path_, clock_, 0, [&](int fd) {
    ++syncs;
    return ::fdatasync(fd);
  }, std::chrono::hours(1));
  ASSERT_TRUE(log.ok());
  auto written = [&](int i) {
    std::promise<core::Status> p;
    (*log)->appendAllThen({{"lease.issued", {{"lease", "W" + std::to_string(i)}}}},
                          [&](core::Status st) { p.set_value(st); },
                          AuditSink::Durability::kWritten);
    return p.get_future().get();
  };
  ASSERT_TRUE(written(0).ok());
  for (int i = 0; i < 100 && syncs.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(syncs.load(), 1);  // the first, at once
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(written(i).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(syncs.load(), 1);  // held for the interval
  ASSERT_TRUE((*log)->append("denial", {}).ok());  // waited for: synced at once, with the rest
  EXPECT_EQ(syncs.load(), 2);
  (*log)->close();
  EXPECT_EQ(syncs.load(), 2);
  EXPECT_EQ(lines().size(), 7u);
}

TEST_F(AuditLogTest, AppendersWriteThemselvesAndEveryWrittenAppendCompletesOnce) {
  auto log = AuditLog::open(path_, clock_);
  ASSERT_TRUE(log.ok());
  // No write under way: the appending thread writes, and its completion runs before it returns.
  bool returned = false, done_before_return = false;
  std::thread::id ran_on;
  (*log)->appendAllThen({{"lease.issued", {{"lease", "first"}}}},
                        [&](core::Status st) {
                          ran_on = std::this_thread::get_id();
                          done_before_return = st.ok() && !returned;
                        },
                        AuditSink::Durability::kWritten);
  returned = true;
  EXPECT_TRUE(done_before_return);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  // Many appenders at once: one of them writes what the others queued meanwhile.
  constexpr int kThreads = 8, kEach = 200;
  std::atomic<int> done{0}, failed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        (*log)->appendAllThen({{"lease.issued", {{"lease", std::to_string(t * kEach + i)}}}},
                              [&](core::Status st) { (st.ok() ? done : failed)++; },
                              AuditSink::Durability::kWritten);
    });
  for (auto& t : ts) t.join();
  (*log)->close();
  EXPECT_EQ(done.load(), kThreads * kEach);
  EXPECT_EQ(failed.load(), 0);
  auto ls = lines();
  EXPECT_EQ(ls.size(), 1u + kThreads * kEach);
  EXPECT_TRUE(verifyLines(ls).ok);
}

TEST_F(AuditLogTest, AFailedSyncIsReportedAndLaterWrittenAppendsWaitForTheirSync) {
  Gate gate;
  std::atomic<int> calls{0};
  auto log = AuditLog::open(path_, clock_, 0, [&](int) {
    if (++calls == 1) return -1;  // the first sync fails
    gate.wait();
    return 0;
  });
  OpensAtExit at_exit{gate};
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->append("a", {}).code(), core::Code::kUnavailable);
  std::promise<core::Status> written;
  (*log)->appendAllThen({{"lease.issued", {{"lease", "W"}}}},
                        [&](core::Status st) { written.set_value(st); },
                        AuditSink::Durability::kWritten);
  std::future<core::Status> w = written.get_future();
  EXPECT_EQ(w.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  gate.open();
  EXPECT_TRUE(w.get().ok());
  (*log)->close();
  // The record whose sync failed stays in the chain: the log never shows less than happened.
  auto ls = lines();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_NE(ls[0].find("\"event\":\"a\""), std::string::npos);
  EXPECT_TRUE(verifyLines(ls).ok);
}

TEST_F(AuditLogTest, OpenReadsTheRecentIssuancesAcrossRotations) {
  {
    auto log = AuditLog::open(path_, clock_, 1000);
    ASSERT_TRUE(log.ok());
    EXPECT_FALSE((*log)->takeRecent().last);  // an empty log
    ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "OLD"}}).ok());
    clock_.advance(2 * AuditLog::kRecentWindow + std::chrono::seconds(1));
    for (int i = 0; i < 12; ++i) {
      clock_.advance(std::chrono::milliseconds(1));  // distinct rotated names
      ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "L" + std::to_string(i)}}).ok());
      ASSERT_TRUE((*log)->append("decision.allowed", {{"lease", "NOT-AN-ISSUANCE"}}).ok());
    }
  }
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++files;
  ASSERT_GE(files, 4u);  // the live file and several rotated ones
  auto log = AuditLog::open(path_, clock_, 1000);
  ASSERT_TRUE(log.ok());
  const AuditLog::Recent r = (*log)->takeRecent();
  ASSERT_TRUE(r.last);
  EXPECT_EQ(core::formatRfc3339(*r.last), core::formatRfc3339(clock_.now()));
  std::unordered_set<std::string> want;
  for (int i = 0; i < 12; ++i) want.insert("L" + std::to_string(i));
  EXPECT_EQ(r.issued, want);  // OLD is older than the window; decisions are not issuances
}

TEST_F(AuditLogTest, RecentIssuancesStopAtTwiceTheWindow) {
  {
    auto log = AuditLog::open(path_, clock_);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "OLD"}}).ok());
    clock_.advance(2 * AuditLog::kRecentWindow - std::chrono::seconds(1));
    ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "INSIDE"}}).ok());
    clock_.advance(std::chrono::seconds(2));
    ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "NEW"}}).ok());
  }
  auto log = AuditLog::open(path_, clock_);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->takeRecent().issued, (std::unordered_set<std::string>{"NEW", "INSIDE"}));
  EXPECT_TRUE((*log)->takeRecent().issued.empty());  // taken once, not kept
}

TEST_F(AuditLogTest, FileIsOwnerOnly) {
  write(1);
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace
}  // namespace jitb::audit
