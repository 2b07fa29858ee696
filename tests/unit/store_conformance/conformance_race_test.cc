// Races driven by threads: what must hold whichever of two concurrent callers goes first. Each
// test runs many rounds so that the interleavings the backend must order actually happen; the
// PostgreSQL store runs them over separate connections (and two stores, as two replicas).
#include <atomic>
#include <set>

#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

bool terminalState(const std::string& s) {
  return s == "closed" || s == "canceled" || s == "rejected";
}

// A ticket closed while a lease of it is being inserted: either the insert saw the close (and
// its caller ends the lease) or the close's revocation ended the lease. Never an active lease
// whose insert saw an open ticket.
TEST_P(StoreConformance, CloseVersusLeaseInsertNeverLeavesAnActiveLeaseOnAClosedTicket) {
  Store* replica = &this->replica();
  ASSERT_TRUE(env_->slowLeaseInserts().ok());
  constexpr int kRounds = 150;
  int missed = 0, saw_close = 0, revoked = 0;
  for (int i = 0; i < kRounds; ++i) {
    const std::string t = "T" + std::to_string(i), id = "L" + std::to_string(i);
    ASSERT_EQ(*store_->putTicket(ticket(t, "approved", 100)), TicketWrite::kApplied);
    auto [st, seen] = insertRacing(lease(id, t), [&] {
      EXPECT_EQ(*replica->putTicket(ticket(t, "closed", 200)), TicketWrite::kApplied);
      EXPECT_TRUE(replica->revokeTicket(t, "ticket_closed", 2000).ok());
    });
    ASSERT_TRUE(st.ok()) << st.message() << " " << st.detail();
    ASSERT_TRUE(seen.has_value());
    const LeaseState state = store_->getLease(id).value()->state;
    if (terminalState(seen->state))
      ++saw_close;
    else if (state == LeaseState::kRevoked)
      ++revoked;
    else
      ++missed;
  }
  EXPECT_EQ(missed, 0) << "of " << kRounds << " rounds; the insert saw the close in " << saw_close
                       << ", the close revoked the lease in " << revoked;
}

// A close and a newer approval of one ticket delivered at once (two replicas, or a retry): the
// close always stands, whichever is written first.
TEST_P(StoreConformance, ConcurrentTicketEventsNeverReopenAClosedTicket) {
  Store* replica = &this->replica();
  constexpr int kRounds = 150;
  int reopened = 0;
  for (int i = 0; i < kRounds; ++i) {
    const std::string t = "T" + std::to_string(i);
    ASSERT_EQ(*store_->putTicket(ticket(t, "approved", 100)), TicketWrite::kApplied);
    core::StatusOr<TicketWrite> approved = core::internalError("not run");
    race([&] { EXPECT_EQ(*replica->putTicket(ticket(t, "closed", 150)), TicketWrite::kApplied); },
         [&] { approved = store_->putTicket(ticket(t, "approved", 200)); });
    ASSERT_TRUE(approved.ok()) << approved.status().detail();
    reopened += store_->getTicket(t).value()->state != "closed";
  }
  EXPECT_EQ(reopened, 0) << "of " << kRounds << " rounds";
}

// The first delivery of a ticket, twice at once (its sender retried, or two replicas): one
// write applies, the other is the replay it is, and neither is an error.
TEST_P(StoreConformance, ConcurrentFirstDeliveriesOfATicketApplyOnce) {
  Store* replica = &this->replica();
  constexpr int kRounds = 200;
  int applied_twice = 0, applied_never = 0;
  for (int i = 0; i < kRounds; ++i) {
    const std::string t = "N" + std::to_string(i);
    core::StatusOr<TicketWrite> first = core::internalError("not run"), other = first;
    race([&] { other = replica->putTicket(ticket(t, "approved", 100)); },
         [&] { first = store_->putTicket(ticket(t, "approved", 100)); });
    ASSERT_TRUE(first.ok() && other.ok()) << first.status().detail() << other.status().detail();
    const int applied = (*first == TicketWrite::kApplied) + (*other == TicketWrite::kApplied);
    applied_twice += applied == 2;
    applied_never += applied == 0;
  }
  EXPECT_EQ(applied_twice, 0) << "of " << kRounds;
  EXPECT_EQ(applied_never, 0) << "of " << kRounds;
}

// Two closes of one ticket at once (two replicas handling the same event): every lease is
// ended by exactly one of them, with exactly one hook job.
TEST_P(StoreConformance, TwoConcurrentClosesEndEachLeaseOnceWithOneJobEach) {
  store_->enableRevocationJobs();
  Store* replica = &this->replica();
  replica->enableRevocationJobs();
  constexpr int kRounds = 20, kLeases = 30;
  int64_t jobs_before = 0;
  for (int r = 0; r < kRounds; ++r) {
    const std::string t = "T" + std::to_string(r);
    for (int i = 0; i < kLeases; ++i)
      ASSERT_TRUE(store_->insertLease(lease(t + "-L" + std::to_string(i), t)).ok());
    std::vector<EndedLease> a, b;
    race([&] { a = replica->revokeTicket(t, "ticket_closed", 2000).value(); },
         [&] { b = store_->revokeTicket(t, "ticket_closed", 2000).value(); });
    const EndedTally ended = tallyEnded(a, b);
    EXPECT_EQ(ended.reports, static_cast<size_t>(kLeases)) << "round " << r;
    EXPECT_EQ(ended.distinct, ended.reports);
    const int64_t jobs = store_->jobCounts().value().first;
    EXPECT_EQ(jobs - jobs_before, kLeases) << "round " << r;
    jobs_before = jobs;
  }
}

// A webhook delivery retried while the first attempt is still being processed (or handled by
// two replicas): exactly one claim wins.
TEST_P(StoreConformance, ADeliveryClaimedConcurrentlyIsWonOnce) {
  Store* replica = &this->replica();
  constexpr int kKeys = 200, kThreads = 4;
  std::vector<std::atomic<int>> wins(kKeys);
  onThreads(kThreads, [&](int n) {
    Store& s = n % 2 ? *replica : *store_;
    for (int k = 0; k < kKeys; ++k) {
      auto won = s.claimDelivery("d" + std::to_string(k), 1000);
      ASSERT_TRUE(won.ok()) << won.status().detail();
      if (*won) ++wins[k];
    }
  });
  int twice = 0, never = 0;
  for (auto& w : wins) {
    twice += w > 1;
    never += w == 0;
  }
  EXPECT_EQ(twice, 0) << "keys claimed by more than one caller, of " << kKeys;
  EXPECT_EQ(never, 0);
}

// The CRL number and its kin, taken from N threads (and two replicas): no value twice.
TEST_P(StoreConformance, CountersFromManyThreadsNeverRepeat) {
  Store* replica = &this->replica();
  constexpr int kThreads = 6, kEach = 60;
  std::vector<std::vector<int64_t>> got(kThreads);
  onThreads(kThreads, [&](int n) {
    Store& s = n % 2 ? *replica : *store_;
    for (int i = 0; i < kEach; ++i) {
      auto v = s.nextCounter("crl");
      ASSERT_TRUE(v.ok()) << v.status().detail();
      got[n].push_back(*v);
    }
  });
  std::set<int64_t> all;
  size_t total = 0;
  for (const auto& g : got) {
    all.insert(g.begin(), g.end());
    total += g.size();
    for (size_t i = 1; i < g.size(); ++i) EXPECT_LT(g[i - 1], g[i]);  // each caller sees it grow
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(all.size(), total) << "duplicate counter values";
  EXPECT_EQ(*all.rbegin(), kThreads * kEach);
}

}  // namespace
}  // namespace jitb::store::conformance
