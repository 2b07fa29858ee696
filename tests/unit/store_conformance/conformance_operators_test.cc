// Break-glass reviews marked done, and operator leases (no ticket) kept out of the tickets the
// lease manager settles, on every backend.
#include <atomic>

#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

TEST_P(StoreConformance, AReviewIsMarkedDoneOnceAndLeavesTheQueue) {
  LeaseRow bg = lease("L1", "INC1");
  bg.review = true;
  ASSERT_TRUE(store_->insertLease(bg).ok());
  ASSERT_TRUE(store_->insertLease(lease("L2", "INC1")).ok());
  LeaseFilter open;
  open.review_only = true;
  ASSERT_EQ(store_->listLeases(open).value().size(), 1u);

  auto first = store_->markReviewed("L1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(*first);
  auto again = replica().markReviewed("L1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_TRUE(store_->listLeases(open).value().empty());
  auto row = store_->getLease("L1").value();
  ASSERT_TRUE(row.has_value());
  EXPECT_TRUE(row->review);
  EXPECT_TRUE(row->reviewed);
  EXPECT_FALSE(store_->getLease("L2").value()->reviewed);

  // Not a break-glass lease, or no lease at all: NotFound, nothing changed.
  EXPECT_EQ(store_->markReviewed("L2").status().code(), core::Code::kNotFound);
  EXPECT_EQ(store_->markReviewed("nope").status().code(), core::Code::kNotFound);
}

// Two admins marking the same review at once (on two replicas where the backend has them):
// the conditional write lets exactly one through, so only one gets "done".
TEST_P(StoreConformance, ConcurrentReviewMarksChangeItOnce) {
  for (int round = 0; round < 5; ++round) {
    const std::string id = "BG" + std::to_string(round);
    LeaseRow bg = lease(id, "INC1");
    bg.review = true;
    ASSERT_TRUE(store_->insertLease(bg).ok());
    std::atomic<int> changed{0}, failed{0};
    Store& other = replica();
    onThreads(8, [&](int i) {
      auto r = (i % 2 ? other : *store_).markReviewed(id);
      if (!r.ok()) ++failed;
      else if (*r) ++changed;
    });
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(changed.load(), 1) << "round " << round;
  }
}

TEST_P(StoreConformance, OperatorLeasesRoundTripAndHaveNoTicketToSettle) {
  LeaseRow op = lease("OP1", "", LeaseKind::kOperator);
  op.grant = "auditor";
  op.jti = "op:abc";
  op.serial.clear();
  ASSERT_TRUE(store_->insertLease(op).ok());
  ASSERT_TRUE(store_->insertLease(lease("T1", "CHG1")).ok());
  auto found = store_->findLeaseByJti("op:abc").value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->kind, LeaseKind::kOperator);
  EXPECT_STREQ(toString(found->kind), "operator");
  LeaseFilter by_kind;
  by_kind.kind = LeaseKind::kOperator;
  auto ops = store_->listLeases(by_kind).value();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].id, "OP1");
  by_kind.kind = LeaseKind::kToken;
  EXPECT_EQ(store_->listLeases(by_kind).value().at(0).id, "T1");
  auto active = store_->activeTickets().value();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].id, "CHG1");
}

}  // namespace
}  // namespace jitb::store::conformance
