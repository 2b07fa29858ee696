// The reconciliation loop on the injected clock: it reads its source once per interval of the
// clock, so the test advances time instead of waiting for it. The source is a gmock mock; the
// store, lease manager and ticket service are real.
#include "broker/tickets/poller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/mocks/mock_ticket_source.h"
#include "tests/unit/leases/fixture.h"
#include "tests/unit/tickets/mock_lease_review.h"
#include "tests/unit/tickets/ticket_records.h"

namespace jitb::tickets {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::NiceMock;
using ::testing::Return;

class PollerTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    // Never started: the poller is then the only thread waiting on the clock.
    leases_ = std::make_unique<leases::LeaseManager>(*store_, audit_, clock_, leases::Quotas{}, metrics_);
    svc_ = std::make_unique<TicketService>(*store_, *leases_, review_, audit_, clock_);
    refresher_ = std::make_unique<Refresher>(*svc_, clock_, 60s);
    ON_CALL(source_, name()).WillByDefault(Return("mock"));
    ON_CALL(source_, owns(_)).WillByDefault([](std::string_view id) { return id.rfind("CHG", 0) == 0; });
    ON_CALL(source_, batchSize()).WillByDefault(Return(10));
  }
  void TearDown() override {
    refresher_.reset();
    svc_.reset();
    leases_.reset();
    StoreFixture::TearDown();
  }
  Ticket ticket(const std::string& id, std::string state, int version) {
    return jitb::testing::sourceRecord(clock_, id, std::move(state), version);
  }
  static FetchResult found(Ticket t) {
    FetchResult r;
    r.found.push_back(std::move(t));
    return r;
  }

  std::unique_ptr<leases::LeaseManager> leases_;
  NiceMock<testing::MockLeaseReview> review_;
  std::unique_ptr<TicketService> svc_;
  std::unique_ptr<Refresher> refresher_;
  NiceMock<testing::MockTicketSource> source_;
};

TEST_F(PollerTest, ReadsTheSourceOncePerIntervalOfTheClockAndRevokesWhatClosed) {
  ASSERT_TRUE(svc_->apply(ticket("CHG1", "approved", 1), "mock").ok());
  ASSERT_TRUE(leases_->record(lease("l1", "CHG1", 3'600'000, "ci")).ok());
  Poller poller(*refresher_, source_, *store_, metrics_, clock_, 30s);
  poller.start();
  ASSERT_TRUE(clock_.waitForSleepers(1));

  EXPECT_CALL(source_, fetch(_)).Times(0);
  clock_.advance(29s);
  ASSERT_TRUE(clock_.waitForSleepers(1));
  ::testing::Mock::VerifyAndClearExpectations(&source_);

  EXPECT_CALL(source_, fetch(ElementsAre("CHG1"))).WillOnce(Return(found(ticket("CHG1", "closed", 2))));
  clock_.advance(1s);
  ASSERT_TRUE(clock_.waitForSleepers(1));  // the pass is over: the poller waits again
  EXPECT_EQ((*store_->getLease("l1"))->state, store::LeaseState::kRevoked);
  EXPECT_NE(metrics_.render().find("jitbroker_ticket_poll_revoked_total{source=\"mock\"} 1"),
            std::string::npos);
  poller.stop();  // wakes the waiting loop: returns without the clock moving
}

TEST_F(PollerTest, AFailedPassIsCountedAndTheNextIntervalTriesAgain) {
  ASSERT_TRUE(svc_->apply(ticket("CHG2", "approved", 1), "mock").ok());
  ASSERT_TRUE(leases_->record(lease("l2", "CHG2", 3'600'000, "ci")).ok());
  Poller poller(*refresher_, source_, *store_, metrics_, clock_, 30s);
  EXPECT_CALL(source_, fetch(ElementsAre("CHG2")))
      .WillOnce(Return(core::unavailable("cannot reach https://itsm.test")))
      .WillOnce(Return(found(ticket("CHG2", "approved", 1))));
  poller.start();
  ASSERT_TRUE(clock_.waitForSleepers(1));
  clock_.advance(30s);
  ASSERT_TRUE(clock_.waitForSleepers(1));
  EXPECT_NE(metrics_.render().find("jitbroker_ticket_poll_errors_total{source=\"mock\"} 1"),
            std::string::npos);
  EXPECT_EQ(metrics_.render().find("jitbroker_ticket_poll_last_success_timestamp_seconds{"),
            std::string::npos);
  clock_.advance(30s);
  ASSERT_TRUE(clock_.waitForSleepers(1));
  EXPECT_NE(metrics_.render().find("jitbroker_ticket_poll_last_success_timestamp_seconds{source=\"mock\"}"),
            std::string::npos);
  EXPECT_EQ((*store_->getLease("l2"))->state, store::LeaseState::kActive);
}

}  // namespace
}  // namespace jitb::tickets
