// A ticket event's write with its effect on the leases (applyTicket), review marks and the
// window sweep (endWindowsDue), one caller at a time; their races are in
// conformance_ticket_races_test.cc.
#include <set>

#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

TicketEffect revokeAll(std::string reason, int64_t now) {
  return {TicketEffect::Kind::kRevokeAll, std::move(reason), now};
}
TicketEffect review() { return {TicketEffect::Kind::kReview, "", 0}; }

std::set<std::string> idsOf(const std::vector<EndedLease>& ended) {
  std::set<std::string> ids;
  for (const auto& e : ended) ids.insert(e.id);
  return ids;
}

TEST_P(StoreConformance, AClosingWriteEndsTheTicketsLeasesWithTheirJobsInTheSameCall) {
  store_->enableRevocationJobs();
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 100)), TicketWrite::kApplied);
  for (const char* id : {"L1", "L2"}) ASSERT_TRUE(store_->insertLease(lease(id, "T")).ok());
  ASSERT_TRUE(store_->insertLease(lease("O1", "other")).ok());
  auto applied = store_->applyTicket(ticket("T", "closed", 200), revokeAll("ticket_closed", 2500));
  ASSERT_TRUE(applied.ok()) << applied.status().detail();
  EXPECT_EQ(applied->write, TicketWrite::kApplied);
  EXPECT_EQ(idsOf(applied->ended), (std::set<std::string>{"L1", "L2"}));
  EXPECT_EQ(store_->getTicket("T").value()->state, "closed");
  auto l1 = store_->getLease("L1").value();
  EXPECT_EQ(l1->state, LeaseState::kRevoked);
  EXPECT_EQ(l1->reason, "ticket_closed");
  EXPECT_EQ(l1->ended_at, 2500);
  EXPECT_EQ(store_->getLease("O1").value()->state, LeaseState::kActive);
  EXPECT_EQ(store_->jobCounts().value().first, 2);
  // The redelivery is ignored as terminal, and ends (and enqueues) nothing more.
  auto again = store_->applyTicket(ticket("T", "closed", 300), revokeAll("ticket_closed", 2600));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->write, TicketWrite::kIgnoredTerminal);
  EXPECT_TRUE(again->ended.empty());
  EXPECT_EQ(store_->jobCounts().value().first, 2);
}

TEST_P(StoreConformance, AnIgnoredWriteHasNoEffectOnTheLeases) {
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 200)), TicketWrite::kApplied);
  ASSERT_TRUE(store_->insertLease(lease("L1", "T")).ok());
  auto older = store_->applyTicket(ticket("T", "pending", 100), revokeAll("approval_withdrawn", 9));
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(older->write, TicketWrite::kIgnoredNotNewer);
  EXPECT_TRUE(older->ended.empty());
  EXPECT_EQ(store_->getLease("L1").value()->state, LeaseState::kActive);
  EXPECT_EQ(store_->getTicket("T").value()->state, "approved");
}

TEST_P(StoreConformance, AFirstDeliveryThatClosesEndsLeasesIssuedBeforeAnyTicketRow) {
  ASSERT_TRUE(store_->insertLease(lease("L1", "T")).ok());
  auto applied = store_->applyTicket(ticket("T", "canceled", 100), revokeAll("ticket_canceled", 9));
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(applied->write, TicketWrite::kApplied);
  EXPECT_EQ(idsOf(applied->ended), (std::set<std::string>{"L1"}));
}

TEST_P(StoreConformance, AReviewMarkStaysUntilTheReviewOfThatVersionFinishes) {
  ASSERT_TRUE(store_->applyTicket(ticket("T", "approved", 100), review()).ok());
  ASSERT_EQ(*store_->putTicket(ticket("U", "approved", 100)), TicketWrite::kApplied);
  auto pending = store_->pendingReviews(1'000'000, 10).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, "T");
  EXPECT_EQ(pending[0].updated_at, 100);
  EXPECT_EQ(pending[0].json, ticket("T", "approved", 100).json);
  // Only marks received at or before the bound: a review still running is not swept.
  EXPECT_TRUE(store_->pendingReviews(99, 10).value().empty());
  // A newer write (marked or not) keeps the mark; finishing the older version's review does
  // not clear the newer version's.
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 200)), TicketWrite::kApplied);
  ASSERT_TRUE(store_->finishReview("T", 100).ok());
  ASSERT_EQ(store_->pendingReviews(1'000'000, 10).value().size(), 1u);
  ASSERT_TRUE(store_->finishReview("T", 200).ok());
  EXPECT_TRUE(store_->pendingReviews(1'000'000, 10).value().empty());
  // A write that ends every lease leaves nothing to review.
  ASSERT_TRUE(store_->applyTicket(ticket("T", "approved", 300), review()).ok());
  ASSERT_EQ(store_->pendingReviews(1'000'000, 10).value().size(), 1u);
  ASSERT_TRUE(store_->applyTicket(ticket("T", "pending", 400), revokeAll("approval_withdrawn", 9)).ok());
  EXPECT_TRUE(store_->pendingReviews(1'000'000, 10).value().empty());
}

TEST_P(StoreConformance, AReviewMarkSurvivesAReopenSoThatACrashBeforeTheReviewIsSwept) {
  ASSERT_TRUE(store_->applyTicket(ticket("T", "approved", 100), review()).ok());
  reopen();
  auto pending = store_->pendingReviews(1'000'000, 10).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, "T");
}

TEST_P(StoreConformance, TheWindowSweepEndsLeasesAnotherReplicaIssued) {
  store_->enableRevocationJobs();
  Store& other = replica();
  ASSERT_EQ(*other.putTicket(ticket("W1", "approved", 100, 5000)), TicketWrite::kApplied);
  ASSERT_EQ(*other.putTicket(ticket("W2", "approved", 100, 9000)), TicketWrite::kApplied);
  ASSERT_EQ(*other.putTicket(ticket("W0", "approved", 100, 3000)), TicketWrite::kApplied);
  for (const char* t : {"W0", "W1", "W2"})
    for (int i = 0; i < 2; ++i)
      ASSERT_TRUE(other.insertLease(lease(std::string(t) + "-" + std::to_string(i), t)).ok());
  ASSERT_TRUE(other.endLease("W1-1", LeaseState::kExpired, "ttl", 4000).ok());
  // (4000, 6000]: W1's window ended there; W0's before it (an earlier poll's), W2's not yet.
  auto ended = store_->endWindowsDue(4000, 6000);
  ASSERT_TRUE(ended.ok()) << ended.status().detail();
  EXPECT_EQ(idsOf(*ended), (std::set<std::string>{"W1-0"}));
  auto l = other.getLease("W1-0").value();
  EXPECT_EQ(l->state, LeaseState::kRevoked);
  EXPECT_EQ(l->reason, "window_ended");
  EXPECT_EQ(l->ended_at, 6000);
  EXPECT_EQ(other.getLease("W1-1").value()->state, LeaseState::kExpired);
  EXPECT_EQ(other.getLease("W0-0").value()->state, LeaseState::kActive);
  EXPECT_EQ(other.getLease("W2-0").value()->state, LeaseState::kActive);
  EXPECT_EQ(store_->jobCounts().value().first, 1);
  EXPECT_TRUE(store_->endWindowsDue(4000, 6000).value().empty());
  EXPECT_EQ(idsOf(store_->endWindowsDue(0, 9000).value()),
            (std::set<std::string>{"W0-0", "W0-1", "W2-0", "W2-1"}));
}

}  // namespace
}  // namespace jitb::store::conformance
