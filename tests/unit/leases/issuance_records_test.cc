#include "broker/leases/issuance_records.h"

#include <fstream>
#include <sstream>

#include "tests/unit/leases/fixture.h"

namespace jitb::leases {
namespace {

class IssuanceRecordsTest : public testing::StoreFixture {
 protected:
  store::LeaseRow issued(std::chrono::milliseconds ago, bool review = false) {
    core::TimePoint at = clock_.now() - ago;
    store::LeaseRow l = lease("lease_" + core::timeOrderedHex(at, 5), "CHG-1", 3'600'000);
    l.review = review;
    EXPECT_TRUE(store_->insertLease(l).ok());
    return l;
  }
  std::unique_ptr<audit::AuditLog> openLog() {
    auto log = audit::AuditLog::open((dir_ / "audit.log").string(), clock_);
    EXPECT_TRUE(log.ok());
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::string logText() {
    std::ifstream in(dir_ / "audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

TEST_F(IssuanceRecordsTest, OperatorLeasesAreNeverRestoredNorTheirDigestLogged) {
  store::LeaseRow logged = issued(std::chrono::seconds(3));
  store::LeaseRow op = lease("lease_" + core::timeOrderedHex(clock_.now() - std::chrono::seconds(1), 5),
                             "", 3'600'000, "carol");
  op.kind = store::LeaseKind::kOperator;
  op.jti = "op:digest-of-the-token";
  ASSERT_TRUE(store_->insertLease(op).ok());
  {
    auto log = openLog();
    ASSERT_TRUE(log->appendAll(issuanceRecords(logged)).ok());
  }
  auto log = openLog();
  EXPECT_EQ(restoreIssuanceRecords(*store_, *log).value(), 0u);
  log.reset();
  EXPECT_EQ(logText().find("op:digest-of-the-token"), std::string::npos);
}

TEST_F(IssuanceRecordsTest, RestoresTheIssuancesTheLogLostAndOnlyThose) {
  store::LeaseRow logged = issued(std::chrono::seconds(3));
  store::LeaseRow lost = issued(std::chrono::seconds(2), true);
  store::LeaseRow lost_closed = issued(std::chrono::milliseconds(1500));
  ASSERT_TRUE(store_->endLease(lost_closed.id, store::LeaseState::kRevoked, "ticket_closed", nowMs()).ok());
  store::LeaseRow aborted = issued(std::chrono::seconds(1));
  ASSERT_TRUE(store_->endLease(aborted.id, store::LeaseState::kRevoked, "audit_failed", nowMs()).ok());
  store::LeaseRow old = issued(audit::AuditLog::kRecentWindow + std::chrono::seconds(5));
  {
    auto log = openLog();
    EXPECT_EQ(restoreIssuanceRecords(*store_, *log).value(), 0u);  // an empty log: nothing to do
    ASSERT_TRUE(log->appendAll(issuanceRecords(logged)).ok());
  }
  auto log = openLog();
  auto restored = restoreIssuanceRecords(*store_, *log);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_EQ(*restored, 2u);
  log.reset();
  std::string text = logText();
  std::stringstream in(text);
  EXPECT_TRUE(audit::verifyAuditLog(in).ok);
  EXPECT_NE(text.find("\"event\":\"lease.issued\",\"lease\":\"" + lost.id), std::string::npos) << text;
  EXPECT_NE(text.find("\"event\":\"review.required\",\"lease\":\"" + lost.id), std::string::npos);
  EXPECT_NE(text.find("\"recovered\":true,\"state\":\"active\""), std::string::npos) << text;
  EXPECT_NE(text.find(lost_closed.id + "\""), std::string::npos);
  EXPECT_NE(text.find("\"state\":\"revoked\",\"reason\":\"ticket_closed\""), std::string::npos);
  EXPECT_EQ(text.find(aborted.id), std::string::npos);
  EXPECT_EQ(text.find(old.id), std::string::npos);
  // Restoring again finds nothing missing.
  log = openLog();
  EXPECT_EQ(restoreIssuanceRecords(*store_, *log).value(), 0u);
}

}  // namespace
}  // namespace jitb::leases
