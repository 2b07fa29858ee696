// The revocation fan-out poller against a scripted store, with an injected clock: each event
// reaches the listeners once, an event committed late behind a higher seq is still found, the
// floor moves only once the re-read window has passed, and the lag is measured.
#include "broker/leases/revocation_fanout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_store.h"

namespace jitb::leases {
namespace {

using std::chrono::milliseconds;
using ::testing::_;
using ::testing::Return;

class EventStore : public testing::MockStore {
 public:
  MOCK_METHOD(core::StatusOr<std::vector<store::RevocationEvent>>, revocationEventsAfter,
              (int64_t, int), (override));
  MOCK_METHOD(core::StatusOr<int64_t>, revocationSeqBefore, (int64_t), (override));
  MOCK_METHOD(core::StatusOr<int64_t>, pruneRevocationEvents, (int64_t), (override));
};

constexpr int64_t kStart = 1'700'000'000'000;

store::RevocationEvent event(int64_t seq, store::LeaseState state = store::LeaseState::kRevoked,
                             int64_t ended_at = kStart) {
  store::RevocationEvent e;
  e.seq = seq;
  e.lease.id = "lease-" + std::to_string(seq);
  e.lease.kind = store::LeaseKind::kCertificate;
  e.lease.serial = "0" + std::to_string(seq);
  e.lease.ticket = "CHG" + std::to_string(seq);
  e.state = state;
  e.ended_at = ended_at;
  return e;
}

std::vector<store::RevocationEvent> events(std::initializer_list<int64_t> seqs) {
  std::vector<store::RevocationEvent> out;
  for (int64_t s : seqs) out.push_back(event(s));
  return out;
}

class FanoutTest : public ::testing::Test {
 protected:
  FanoutTest() {
    ON_CALL(store, pruneRevocationEvents(_)).WillByDefault(Return(int64_t{0}));
    EXPECT_CALL(store, pruneRevocationEvents(_)).Times(::testing::AnyNumber());
  }
  core::FakeClock clock{core::TimePoint(milliseconds(kStart))};
  metrics::Registry metrics;
  ::testing::StrictMock<EventStore> store;
  std::vector<std::pair<std::vector<std::string>, store::LeaseState>> applied;
  RevocationFanout fanout{store, clock, metrics,
                          [this](const std::vector<store::EndedLease>& ended,
                                 store::LeaseState state) {
                            std::vector<std::string> ids;
                            for (const auto& l : ended) ids.push_back(l.id);
                            applied.emplace_back(ids, state);
                          }};

  void init(int64_t floor) {
    EXPECT_CALL(store, revocationSeqBefore(kStart - 5000)).WillOnce(Return(floor));
    ASSERT_TRUE(fanout.init().ok());
  }
  std::vector<std::string> appliedIds() const {
    std::vector<std::string> out;
    for (const auto& [ids, state] : applied) out.insert(out.end(), ids.begin(), ids.end());
    return out;
  }
};

TEST_F(FanoutTest, AppliesEachEventOnceAcrossPollsThatReadItAgain) {
  init(10);
  EXPECT_CALL(store, revocationEventsAfter(10, 1000))
      .WillOnce(Return(events({11, 12})))
      .WillOnce(Return(events({11, 12})));
  auto n = fanout.pollOnce();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  clock.advance(milliseconds(500));
  n = fanout.pollOnce();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(appliedIds(), (std::vector<std::string>{"lease-11", "lease-12"}));
}

TEST_F(FanoutTest, AppliesEveryLeaseOfOneStatementAndNoneOfThemTwice) {
  init(0);
  // One statement ended three leases: one seq names them all.
  std::vector<store::RevocationEvent> one = events({4, 4, 4});
  for (size_t i = 0; i < one.size(); ++i) one[i].lease.id = "lease-4" + std::string(1, 'a' + i);
  EXPECT_CALL(store, revocationEventsAfter(0, 1000)).Times(2).WillRepeatedly(Return(one));
  auto n = fanout.pollOnce();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  clock.advance(milliseconds(500));
  EXPECT_EQ(fanout.pollOnce().value(), 0u);
  EXPECT_EQ(appliedIds(), (std::vector<std::string>{"lease-4a", "lease-4b", "lease-4c"}));
}

TEST_F(FanoutTest, FindsAnEventCommittedLateBehindAHigherSeq) {
  init(0);
  // seq 2 was taken before seq 3 but committed after the first poll read seq 3.
  EXPECT_CALL(store, revocationEventsAfter(0, 1000))
      .WillOnce(Return(events({1, 3})))
      .WillOnce(Return(events({1, 2, 3})));
  ASSERT_TRUE(fanout.pollOnce().ok());
  clock.advance(milliseconds(500));
  ASSERT_TRUE(fanout.pollOnce().ok());
  EXPECT_EQ(appliedIds(), (std::vector<std::string>{"lease-1", "lease-3", "lease-2"}));
}

TEST_F(FanoutTest, TheFloorMovesToWhatWasReadOnceTheRereadWindowPassed) {
  init(0);
  {
    ::testing::InSequence seq;
    EXPECT_CALL(store, revocationEventsAfter(0, 1000)).WillOnce(Return(events({1, 2})));
    // Polls within five seconds of reading seq 2 still read from 0...
    EXPECT_CALL(store, revocationEventsAfter(0, 1000))
        .Times(10)
        .WillRepeatedly(Return(events({1, 2, 4})));
    // ...then from 2, the highest seq read five seconds ago.
    EXPECT_CALL(store, revocationEventsAfter(2, 1000)).WillOnce(Return(events({4, 5})));
  }
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(fanout.pollOnce().ok());
    clock.advance(milliseconds(500));
  }
  EXPECT_EQ(appliedIds(), (std::vector<std::string>{"lease-1", "lease-2", "lease-4", "lease-5"}));
}

TEST_F(FanoutTest, ReadsPageByPageAndSplitsByState) {
  RevocationFanout small{store, clock, metrics,
                         [this](const std::vector<store::EndedLease>& ended,
                                store::LeaseState state) {
                           std::vector<std::string> ids;
                           for (const auto& l : ended) ids.push_back(l.id);
                           applied.emplace_back(ids, state);
                         },
                         FanoutOptions{.page = 2}};
  EXPECT_CALL(store, revocationSeqBefore(_)).WillOnce(Return(int64_t{0}));
  ASSERT_TRUE(small.init().ok());
  std::vector<store::RevocationEvent> first = {event(1),
                                               event(2, store::LeaseState::kExpired)};
  EXPECT_CALL(store, revocationEventsAfter(0, 2)).WillOnce(Return(first));
  EXPECT_CALL(store, revocationEventsAfter(2, 2)).WillOnce(Return(events({3})));
  auto n = small.pollOnce();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[0].first, (std::vector<std::string>{"lease-1", "lease-3"}));
  EXPECT_EQ(applied[0].second, store::LeaseState::kRevoked);
  EXPECT_EQ(applied[1].first, (std::vector<std::string>{"lease-2"}));
  EXPECT_EQ(applied[1].second, store::LeaseState::kExpired);
}

TEST_F(FanoutTest, AFailedReadAppliesNothingAndTheNextPollStartsFromTheSameFloor) {
  init(7);
  EXPECT_CALL(store, revocationEventsAfter(7, 1000))
      .WillOnce(Return(core::unavailable("down")))
      .WillOnce(Return(events({8})));
  EXPECT_EQ(fanout.pollOnce().status().code(), core::Code::kUnavailable);
  EXPECT_TRUE(applied.empty());
  clock.advance(milliseconds(500));
  ASSERT_TRUE(fanout.pollOnce().ok());
  EXPECT_EQ(appliedIds(), (std::vector<std::string>{"lease-8"}));
  EXPECT_NE(metrics.render().find("jitbroker_revocation_fanout_poll_failures_total 1"),
            std::string::npos);
}

TEST_F(FanoutTest, MeasuresTheLagFromTheEndToItsApplication) {
  init(0);
  clock.advance(milliseconds(300));  // the end happened at kStart; applied 300 ms later
  EXPECT_CALL(store, revocationEventsAfter(0, 1000)).WillOnce(Return(events({1})));
  ASSERT_TRUE(fanout.pollOnce().ok());
  const std::string text = metrics.render();
  EXPECT_NE(text.find("jitbroker_revocation_fanout_lag_seconds_count 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("jitbroker_revocation_fanout_lag_seconds_bucket{le=\"0.25\"} 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("jitbroker_revocation_fanout_lag_seconds_bucket{le=\"0.5\"} 1"),
            std::string::npos)
      << text;
}

TEST_F(FanoutTest, PrunesEventsOlderThanKeepOncePerInterval) {
  init(0);
  EXPECT_CALL(store, revocationEventsAfter(_, _))
      .WillRepeatedly(Return(std::vector<store::RevocationEvent>{}));
  EXPECT_CALL(store, pruneRevocationEvents(kStart - 5 * 60 * 1000)).WillOnce(Return(int64_t{3}));
  EXPECT_CALL(store, pruneRevocationEvents(kStart + 60'000 - 5 * 60 * 1000))
      .WillOnce(Return(int64_t{0}));
  ASSERT_TRUE(fanout.pollOnce().ok());
  clock.advance(milliseconds(30'000));
  ASSERT_TRUE(fanout.pollOnce().ok());  // not yet a minute: no prune
  clock.advance(milliseconds(30'000));
  ASSERT_TRUE(fanout.pollOnce().ok());
}

}  // namespace
}  // namespace jitb::leases
