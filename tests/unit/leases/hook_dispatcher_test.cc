#include "broker/leases/hook_dispatcher.h"

#include <boost/json.hpp>

#include "broker/tickets/webhook.h"
#include "tests/unit/leases/fixture.h"

namespace jitb::leases {
namespace {

class HookDispatcherTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    store_->enableRevocationJobs();
    manager_ = std::make_unique<LeaseManager>(*store_, audit_, clock_, Quotas{}, metrics_);
    ASSERT_TRUE(manager_->start().ok());
  }
  // The manager's timer thread polls the store: it stops before the store goes.
  void TearDown() override {
    if (manager_) manager_->stop();
    manager_.reset();
    StoreFixture::TearDown();
  }
  std::unique_ptr<HookDispatcher> dispatcher(int fail_first, int max_attempts = 3) {
    HookConfig cfg{"https://hooks.test/revoked", "hook-secret-0123456789abcdef", max_attempts,
                   std::chrono::milliseconds(1000)};
    return std::make_unique<HookDispatcher>(
        *store_, audit_, clock_, metrics_, cfg,
        [this, fail_first](const std::string& url, const std::string& body,
                           const std::map<std::string, std::string>& headers) {
          calls_.push_back(body);
          EXPECT_EQ(url, "https://hooks.test/revoked");
          // Signed like ticket events, so the receiver can check it the same way.
          EXPECT_TRUE(tickets::verifySignature(headers.at("X-Jitbroker-Signature"), body,
                                               "hook-secret-0123456789abcdef", clock_.now())
                          .ok());
          return static_cast<int>(calls_.size()) <= fail_first
                     ? core::unavailable("hook answered HTTP 503")
                     : core::okStatus();
        });
  }
  std::unique_ptr<LeaseManager> manager_;
  std::vector<std::string> calls_;
};

TEST_F(HookDispatcherTest, RevocationWritesAJobThatIsDeliveredAfterRetries) {
  ASSERT_TRUE(manager_->record(lease("L1", "T", 600'000)).ok());
  ASSERT_TRUE(manager_->revokeTicket("T", "ticket_closed").ok());
  EXPECT_EQ(store_->jobCounts()->first, 1);
  auto d = dispatcher(2);
  EXPECT_EQ(d->runOnce(nowMs()), 0u);      // attempt 1 fails
  EXPECT_EQ(d->runOnce(nowMs()), 0u);      // not due yet: backed off
  EXPECT_EQ(calls_.size(), 1u);
  clock_.advance(std::chrono::seconds(2));
  EXPECT_EQ(d->runOnce(nowMs()), 0u);      // attempt 2 fails
  clock_.advance(std::chrono::seconds(4));
  EXPECT_EQ(d->runOnce(nowMs()), 1u);      // attempt 3 succeeds
  EXPECT_EQ(store_->jobCounts()->first, 0);
  auto body = boost::json::parse(calls_.back()).as_object();
  EXPECT_EQ(body.at("lease").as_string(), "L1");
  EXPECT_EQ(body.at("reason").as_string(), "ticket_closed");
  EXPECT_EQ(body.at("jti").as_string(), "j-L1");
}

TEST_F(HookDispatcherTest, ExhaustedJobsAreMarkedForAttentionAuditedAndStillRetried) {
  ASSERT_TRUE(manager_->record(lease("L2", "T", 600'000)).ok());
  ASSERT_TRUE(manager_->revokeLease("L2", "admin").ok());
  auto d = dispatcher(1000, 2);
  d->runOnce(nowMs());
  clock_.advance(std::chrono::seconds(5));
  d->runOnce(nowMs());
  auto counts = *store_->jobCounts();
  EXPECT_EQ(counts.first, 0);
  EXPECT_EQ(counts.second, 1);  // attention
  EXPECT_EQ(audit_.count("revocation.failed"), 1u);
  size_t before = calls_.size();
  clock_.advance(std::chrono::minutes(11));  // the attention retry interval
  d->runOnce(nowMs());
  EXPECT_EQ(calls_.size(), before + 1);
  EXPECT_EQ(audit_.count("revocation.failed"), 1u);  // flagged once, not per retry
  EXPECT_NE(metrics_.render().find("jitbroker_revocation_jobs_attention 1"), std::string::npos);
}

TEST_F(HookDispatcherTest, TheWorkerRetriesOnTheInjectedClock) {
  ASSERT_TRUE(manager_->record(lease("L4", "T", 600'000)).ok());
  ASSERT_TRUE(manager_->revokeLease("L4", "admin").ok());
  auto d = dispatcher(1);
  d->start();  // attempt 1 at once, failed: backed off 0.5-1.5 s on the clock
  // Two threads wait on the clock: the lease timer and the worker, once it has tried.
  ASSERT_TRUE(clock_.waitForSleepers(2));
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_EQ(store_->jobCounts()->first, 1);
  // Each advance wakes the worker, which polls for due jobs; no real time passes.
  for (int i = 0; i < 8 && store_->jobCounts()->first != 0; ++i) {
    clock_.advance(std::chrono::milliseconds(200));
    ASSERT_TRUE(clock_.waitForSleepers(2));
  }
  EXPECT_EQ(calls_.size(), 2u);
  EXPECT_EQ(store_->jobCounts()->first, 0);  // delivered by the second attempt
  d->stop();
}

TEST_F(HookDispatcherTest, ExpiryIsNotARevocationAndMakesNoJob) {
  ASSERT_TRUE(manager_->record(lease("L3", "T", 1000)).ok());
  manager_->processDue(nowMs() + 1000);
  EXPECT_EQ(store_->jobCounts()->first, 0);
}

}  // namespace
}  // namespace jitb::leases
