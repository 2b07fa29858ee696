// Reading the audit log back for the admin views: the chain's state, matching records, and a
// record still being written left for the next read.
#include "broker/audit/audit_reader.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "broker/core/files.h"
#include "tests/support/fake_clock.h"

namespace jitb::audit {
namespace {

namespace fs = std::filesystem;

class AuditReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jitb-ar-" + core::randomHex(6));
    fs::create_directories(dir_);
    path_ = (dir_ / "audit.log").string();
    auto log = AuditLog::open(path_, clock_);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append("ticket.received", {{"ticket", "CHG1"}, {"state", "approved"}}).ok());
    ASSERT_TRUE((*log)->append("lease.issued", {{"lease", "L1"}, {"ticket", "CHG1"}}).ok());
    ASSERT_TRUE((*log)->append("ticket.received", {{"ticket", "CHG2"}, {"state", "approved"}}).ok());
    ASSERT_TRUE((*log)->append("lease.revoked",
                               {{"ticket", "CHG1"}, {"leases", boost::json::array{"L1", "L2"}}})
                    .ok());
    ASSERT_TRUE((*log)->append("review.done", {{"lease", "L9"}, {"comment", "ok"}}).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> events(const RecordQuery& q) {
    auto found = findRecords(path_, q);
    EXPECT_TRUE(found.ok());
    std::vector<std::string> out;
    if (found.ok())
      for (const auto& r : *found) out.emplace_back(r.at("event").as_string());
    return out;
  }
  std::string text() {
    std::ifstream in(path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  std::string path_;
  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
};

TEST_F(AuditReaderTest, AnIntactChainIsVerifiedThroughItsLastRecord) {
  auto st = chainState(path_);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->verify.ok) << st->verify.message;
  EXPECT_EQ(st->verify.lines, 5u);
  EXPECT_EQ(st->first_seq, 1);
  EXPECT_EQ(st->last_seq, 5);
  EXPECT_EQ(st->first_prev, std::string(64, '0'));  // the chain starts in this file
}

TEST_F(AuditReaderTest, AnEditedRecordBreaksTheChainThereAndNotBefore) {
  std::string t = text();
  size_t at = t.find("\"CHG2\"");
  ASSERT_NE(at, std::string::npos);
  t.replace(at, 6, "\"CHG3\"");
  std::ofstream(path_, std::ios::trunc) << t;
  auto st = chainState(path_);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->verify.ok);
  EXPECT_EQ(st->verify.bad_line, 3u);
  EXPECT_EQ(st->last_seq, 2);  // verified through the record before the edited one
}

TEST_F(AuditReaderTest, ARecordBeingWrittenIsLeftForTheNextRead) {
  std::ofstream(path_, std::ios::app) << "{\"seq\":6,\"time\":\"2026-";
  auto st = chainState(path_);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->verify.ok) << st->verify.message;
  EXPECT_EQ(st->last_seq, 5);
  auto all = readCompleteLines(path_);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->back(), '\n');
  EXPECT_EQ(all->find("\"seq\":6"), std::string::npos);
}

TEST_F(AuditReaderTest, RecordsMatchByTicketLeaseAndEventNamesOrPrefixes) {
  RecordQuery q;
  q.ticket = "CHG1";
  EXPECT_EQ(events(q), (std::vector<std::string>{"ticket.received", "lease.issued", "lease.revoked"}));
  q.events = {"ticket."};
  EXPECT_EQ(events(q), (std::vector<std::string>{"ticket.received"}));
  q = {};
  q.lease = "L2";  // named in a revocation's list
  EXPECT_EQ(events(q), (std::vector<std::string>{"lease.revoked"}));
  q = {};
  q.events = {"review.done", "lease."};
  EXPECT_EQ(events(q), (std::vector<std::string>{"lease.issued", "lease.revoked", "review.done"}));
  q = {};
  q.events = {"ticket"};  // a name, not a prefix: no record is named "ticket"
  EXPECT_TRUE(events(q).empty());
  q = {};
  q.limit = 2;  // the last two
  EXPECT_EQ(events(q), (std::vector<std::string>{"lease.revoked", "review.done"}));
}

TEST_F(AuditReaderTest, ChunksOfAnySizeFindTheSameRecords) {
  std::ofstream(path_, std::ios::app) << "{\"seq\":6,\"event\":\"lease.";  // being written
  for (const RecordQuery& q : {RecordQuery{}, RecordQuery{"CHG1", "", {}, 200},
                               RecordQuery{"", "", {"lease."}, 1}, RecordQuery{"", "L2", {}, 5}}) {
    auto whole = findRecords(path_, q);
    ASSERT_TRUE(whole.ok());
    for (size_t chunk : {1u, 2u, 7u, 64u, 150u, 4096u}) {
      auto got = findRecords(path_, q, chunk);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(*got, *whole) << "chunk " << chunk;
    }
  }
  EXPECT_EQ(findRecords(path_, {}, 3).value().size(), 5u);
}

TEST_F(AuditReaderTest, AMissingLogIsUnavailableNotEmpty) {
  EXPECT_EQ(chainState((dir_ / "none.log").string()).status().code(), core::Code::kUnavailable);
  EXPECT_EQ(findRecords((dir_ / "none.log").string(), {}).status().code(),
            core::Code::kUnavailable);
}

}  // namespace
}  // namespace jitb::audit
