// Races of applyTicket and the window sweep, driven by threads over two stores (two replicas)
// where the backend allows several writers. Each runs many rounds so that the interleavings
// the backend must order actually happen.

#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

TicketEffect revokeAll(std::string reason, int64_t now) {
  return {TicketEffect::Kind::kRevokeAll, std::move(reason), now};
}

// A close applied (with its revocation, in one transaction) while a lease of the ticket is
// being inserted: either the insert read the close, or the close ended the lease.
TEST_P(StoreConformance, AClosingWriteVersusALeaseInsertNeverLeavesTheLeaseActive) {
  Store* replica = &this->replica();
  ASSERT_TRUE(env_->slowLeaseInserts().ok());
  constexpr int kRounds = 150;
  int missed = 0, saw_close = 0, ended_by_close = 0;
  for (int i = 0; i < kRounds; ++i) {
    const std::string t = "T" + std::to_string(i), id = "L" + std::to_string(i);
    ASSERT_EQ(*store_->putTicket(ticket(t, "approved", 100)), TicketWrite::kApplied);
    core::StatusOr<TicketApplied> closed = core::internalError("not run");
    auto [st, seen] = insertRacing(lease(id, t), [&] {
      closed = replica->applyTicket(ticket(t, "closed", 200), revokeAll("ticket_closed", 2000));
    });
    ASSERT_TRUE(st.ok()) << st.message() << " " << st.detail();
    ASSERT_TRUE(closed.ok()) << closed.status().detail();
    ASSERT_TRUE(seen.has_value());
    const bool ended = closed->ended.size() == 1 && closed->ended[0].id == id;
    if (seen->state == "closed")
      ++saw_close;
    else if (ended && store_->getLease(id).value()->state == LeaseState::kRevoked)
      ++ended_by_close;
    else
      ++missed;
  }
  EXPECT_EQ(missed, 0) << "of " << kRounds << " rounds; the insert saw the close in " << saw_close
                       << ", the close ended the lease in " << ended_by_close;
}

// The same close delivered to two replicas at once: one applies it and ends every lease with
// one job each; the other sees a terminal ticket and ends nothing.
TEST_P(StoreConformance, TwoDeliveriesOfACloseApplyOnceAndEndEachLeaseOnce) {
  store_->enableRevocationJobs();
  Store* replica = &this->replica();
  replica->enableRevocationJobs();
  constexpr int kRounds = 60, kLeases = 10;
  int applied_twice = 0, lost = 0, doubled = 0;
  int64_t jobs_before = 0;
  for (int r = 0; r < kRounds; ++r) {
    const std::string t = "T" + std::to_string(r);
    ASSERT_EQ(*store_->putTicket(ticket(t, "approved", 100)), TicketWrite::kApplied);
    for (int i = 0; i < kLeases; ++i)
      ASSERT_TRUE(store_->insertLease(lease(t + "-L" + std::to_string(i), t)).ok());
    core::StatusOr<TicketApplied> a = core::internalError("not run"), b = a;
    race(
        [&] {
          a = replica->applyTicket(ticket(t, "closed", 200), revokeAll("ticket_closed", 2000));
        },
        [&] {
          b = store_->applyTicket(ticket(t, "closed", 200), revokeAll("ticket_closed", 2000));
        });
    ASSERT_TRUE(a.ok() && b.ok()) << a.status().detail() << b.status().detail();
    applied_twice += a->write == TicketWrite::kApplied && b->write == TicketWrite::kApplied;
    const EndedTally ended = tallyEnded(a->ended, b->ended);
    lost += ended.distinct != static_cast<size_t>(kLeases);
    doubled += ended.reports != ended.distinct;
    const int64_t jobs = store_->jobCounts().value().first;
    doubled += jobs - jobs_before != kLeases;
    jobs_before = jobs;
  }
  EXPECT_EQ(applied_twice, 0) << "rounds where both deliveries applied, of " << kRounds;
  EXPECT_EQ(lost, 0) << "rounds that left a lease active, of " << kRounds;
  EXPECT_EQ(doubled, 0) << "rounds that ended a lease twice or wrote extra jobs, of " << kRounds;
}

// Two replicas polling for ended windows at once: each lease ends once, with one job.
TEST_P(StoreConformance, ConcurrentWindowSweepsEndEachLeaseOnceWithOneJobEach) {
  store_->enableRevocationJobs();
  Store* replica = &this->replica();
  replica->enableRevocationJobs();
  constexpr int kRounds = 40, kLeases = 10;
  int doubled = 0, lost = 0;
  int64_t jobs_before = 0;
  for (int r = 0; r < kRounds; ++r) {
    const std::string t = "W" + std::to_string(r);
    const int64_t end = 10'000 + r * 10;
    ASSERT_EQ(*store_->putTicket(ticket(t, "approved", 100, end)), TicketWrite::kApplied);
    for (int i = 0; i < kLeases; ++i)
      ASSERT_TRUE(replica->insertLease(lease(t + "-L" + std::to_string(i), t)).ok());
    core::StatusOr<std::vector<EndedLease>> a = core::internalError("not run"), b = a;
    race([&] { a = replica->endWindowsDue(end - 5, end); },
         [&] { b = store_->endWindowsDue(end - 5, end); });
    ASSERT_TRUE(a.ok() && b.ok()) << a.status().detail() << b.status().detail();
    const EndedTally ended = tallyEnded(*a, *b);
    lost += ended.distinct != static_cast<size_t>(kLeases);
    doubled += ended.reports != ended.distinct;
    const int64_t jobs = store_->jobCounts().value().first;
    doubled += jobs - jobs_before != kLeases;
    jobs_before = jobs;
  }
  EXPECT_EQ(lost, 0) << "of " << kRounds;
  EXPECT_EQ(doubled, 0) << "rounds that ended a lease twice or wrote extra jobs, of " << kRounds;
}

}  // namespace
}  // namespace jitb::store::conformance
