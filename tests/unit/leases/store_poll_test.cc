// The lease manager's store poll: leases it never recorded (another replica issued them, on the
// same database) expire and end with their ticket's window, at a bounded interval.
#include <atomic>
#include <set>
#include <thread>

#include "broker/leases/lease_manager.h"
#include "tests/support/mocks/mock_store.h"
#include "tests/unit/leases/fixture.h"

namespace jitb::leases {
namespace {

using store::LeaseState;
using namespace std::chrono_literals;

class StorePollTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    m_ = std::make_unique<LeaseManager>(*store_, audit_, clock_, Quotas{}, metrics_, 1000ms);
    m_->addListener([this](const std::vector<store::EndedLease>& l, LeaseState s) {
      for (const auto& e : l) heard_.push_back({e.id, s});
    });
    start_ = nowMs();
  }
  void TearDown() override {
    m_.reset();
    StoreFixture::TearDown();
  }
  LeaseState state(const std::string& id) { return (*store_->getLease(id))->state; }

  std::unique_ptr<LeaseManager> m_;
  int64_t start_ = 0;
  std::vector<std::pair<std::string, LeaseState>> heard_;
};

TEST_F(StorePollTest, ALeaseAnotherReplicaIssuedExpiresAtTheNextPoll) {
  ASSERT_TRUE(m_->start().ok());
  // Written straight to the store: this manager's heaps never saw it.
  ASSERT_TRUE(store_->insertLease(lease("other", "T", 100)).ok());
  m_->processDue(start_ + 500);  // due, but no poll yet: the interval bounds the store's load
  EXPECT_EQ(state("other"), LeaseState::kActive);
  m_->processDue(start_ + 1000);
  EXPECT_EQ(state("other"), LeaseState::kExpired);
  ASSERT_EQ(heard_.size(), 1u);
  EXPECT_EQ(heard_[0], std::make_pair(std::string("other"), LeaseState::kExpired));
  EXPECT_EQ(audit_.count("lease.expired"), 1u);
}

TEST_F(StorePollTest, TheWindowOfATicketOnlyAnotherReplicaWatchedEndsItsLeases) {
  ASSERT_EQ(*store_->putTicket({"W", "approved", 1, start_ + 3000, "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_EQ(*store_->putTicket({"LATER", "approved", 1, start_ + 60'000, "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_TRUE(m_->start().ok());
  ASSERT_TRUE(store_->insertLease(lease("w1", "W", 60'000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("w2", "W", 60'000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("l1", "LATER", 60'000)).ok());
  m_->processDue(start_ + 2999);
  EXPECT_EQ(state("w1"), LeaseState::kActive);
  m_->processDue(start_ + 4000);
  EXPECT_EQ(state("w1"), LeaseState::kRevoked);
  EXPECT_EQ(state("w2"), LeaseState::kRevoked);
  EXPECT_EQ((*store_->getLease("w1"))->reason, "window_ended");
  EXPECT_EQ(state("l1"), LeaseState::kActive);
  EXPECT_EQ(heard_.size(), 2u);
  EXPECT_EQ(audit_.count("lease.revoked"), 1u);  // one record for the ticket's leases
}

TEST_F(StorePollTest, TheTimerThreadPollsByItselfAsTheClockAdvances) {
  ASSERT_TRUE(m_->start().ok());
  ASSERT_TRUE(store_->insertLease(lease("other", "T", 100)).ok());
  clock_.advance(1000ms);
  ASSERT_TRUE(clock_.waitForSleepers(1));
  EXPECT_EQ(state("other"), LeaseState::kExpired);
}

TEST_F(StorePollTest, SweepersRunAtStartAndWithEachPoll) {
  std::atomic<int> runs{0};
  m_->addSweeper([&] { ++runs; });
  ASSERT_TRUE(m_->start().ok());
  m_->stop();  // the test drives processDue alone
  EXPECT_EQ(runs, 1);
  m_->processDue(start_ + 999);
  EXPECT_EQ(runs, 1);
  m_->processDue(start_ + 1000);
  EXPECT_EQ(runs, 2);
}

TEST_F(StorePollTest, ConsecutivePollsLeaveNoGapBetweenThem) {
  ASSERT_EQ(*store_->putTicket({"W", "approved", 1, start_ + 1500, "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_TRUE(m_->start().ok());
  ASSERT_TRUE(store_->insertLease(lease("w1", "W", 60'000)).ok());
  m_->stop();
  // Polls at +1000 (before the window end) and at +2000 (after): the second one's span holds it.
  m_->processDue(start_ + 1000);
  EXPECT_EQ(state("w1"), LeaseState::kActive);
  m_->processDue(start_ + 2000);
  EXPECT_EQ(state("w1"), LeaseState::kRevoked);
}

// Two replicas (two managers on one store) polling at the same instant: each lease ends once,
// and only one of them tells its listeners about it.
TEST_F(StorePollTest, TwoReplicasPollingTogetherEndEachLeaseOnce) {
  constexpr int kTickets = 20, kLeases = 5;
  for (int t = 0; t < kTickets; ++t) {
    const std::string id = "W" + std::to_string(t);
    ASSERT_EQ(*store_->putTicket({id, "approved", 1, start_ + 1500, "{}", 1}),
              store::TicketWrite::kApplied);
  }
  LeaseManager other(*store_, audit_, clock_, Quotas{}, metrics_, 1000ms);
  std::vector<std::pair<std::string, LeaseState>> heard_other;
  other.addListener([&](const std::vector<store::EndedLease>& l, LeaseState s) {
    for (const auto& e : l) heard_other.push_back({e.id, s});
  });
  ASSERT_TRUE(m_->start().ok());
  ASSERT_TRUE(other.start().ok());
  m_->stop();
  other.stop();
  for (int t = 0; t < kTickets; ++t)
    for (int i = 0; i < kLeases; ++i) {
      const std::string ticket = "W" + std::to_string(t);
      ASSERT_TRUE(store_->insertLease(lease(ticket + "-" + std::to_string(i), ticket,
                                            i % 2 ? 1200 : 60'000)).ok());
    }
  std::thread b([&] { other.processDue(start_ + 2000); });
  m_->processDue(start_ + 2000);
  b.join();
  std::set<std::string> ids;
  for (const auto& h : heard_) ids.insert(h.first);
  for (const auto& h : heard_other) ids.insert(h.first);
  EXPECT_EQ(heard_.size() + heard_other.size(), static_cast<size_t>(kTickets * kLeases));
  EXPECT_EQ(ids.size(), static_cast<size_t>(kTickets * kLeases));
}

TEST(StorePollMockTest, AFailedWindowPollIsCoveredByTheNextOne) {
  using ::testing::_;
  using ::testing::Return;
  ::testing::NiceMock<jitb::testing::MockStore> store;
  jitb::testing::MemoryAudit audit;
  metrics::Registry metrics;
  core::FakeClock clock{std::chrono::system_clock::from_time_t(1795456800)};
  const int64_t t0 = core::unixMillis(clock.now());
  ON_CALL(store, forEachActive(_)).WillByDefault(Return(core::okStatus()));
  ON_CALL(store, activeTickets())
      .WillByDefault(Return(core::StatusOr<std::vector<store::ActiveTicket>>(
          std::vector<store::ActiveTicket>{})));
  ON_CALL(store, expireDue(_)).WillByDefault(Return(
      core::StatusOr<std::vector<store::EndedLease>>(std::vector<store::EndedLease>{})));
  using Ended = core::StatusOr<std::vector<store::EndedLease>>;
  const Ended none(std::vector<store::EndedLease>{});
  const int64_t margin = 5 * 60 * 1000;  // for other replicas' clocks
  ::testing::InSequence order;
  EXPECT_CALL(store, endWindowsDue(t0 - margin, t0)).WillOnce(Return(none));  // at start
  EXPECT_CALL(store, endWindowsDue(t0 - margin, t0 + 1000))
      .WillOnce(Return(Ended(core::unavailable("store is down"))));
  EXPECT_CALL(store, endWindowsDue(t0 - margin, t0 + 2000)).WillOnce(Return(none));
  EXPECT_CALL(store, endWindowsDue(t0 + 2000 - margin, t0 + 3000)).WillOnce(Return(none));
  LeaseManager m(store, audit, clock, Quotas{}, metrics, 1000ms);
  ASSERT_TRUE(m.start().ok());
  m.stop();
  for (int64_t at : {t0 + 1000, t0 + 2000, t0 + 3000}) m.processDue(at);
}

}  // namespace
}  // namespace jitb::leases
