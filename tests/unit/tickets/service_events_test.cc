// TicketService against a mocked lease side: what each ticket change asks of the leases.
#include <gmock/gmock.h>
#include <boost/json.hpp>
#include <algorithm>
#include <climits>
#include <gtest/gtest.h>

#include "broker/store/sqlite_store.h"
#include "broker/tickets/service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_audit_sink.h"
#include "tests/support/mocks/mock_store.h"
#include "tests/support/store_rows.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/tickets/mock_lease_events.h"
#include "tests/unit/tickets/mock_lease_review.h"
#include "tests/unit/tickets/ticket_records.h"

namespace jitb::tickets {
namespace {

using ::testing::_;
using ::testing::NiceMock;
using ::testing::Return;
using namespace std::chrono_literals;

class TicketServiceEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::SqliteStore::open(dir_.path() + "/broker.db");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
    ON_CALL(audit_, appendAll(_)).WillByDefault(Return(core::okStatus()));
    svc_ = std::make_unique<TicketService>(*store_, leases_, review_, audit_, clock_);
  }
  Ticket ticket(std::string state, int version) {
    return jitb::testing::sourceRecord(clock_, "CHG7", std::move(state), version);
  }
  static store::LeaseRow lease(std::string id, std::string ticket) {
    return jitb::testing::leaseRow(std::move(id), std::move(ticket));
  }

  jitb::testing::TempDir dir_;
  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
  std::unique_ptr<store::SqliteStore> store_;
  NiceMock<jitb::testing::MockAuditSink> audit_;
  jitb::testing::MockLeaseEvents leases_;
  NiceMock<jitb::testing::MockLeaseReview> review_;
  std::unique_ptr<TicketService> svc_;
};

TEST_F(TicketServiceEventsTest, AnApprovedTicketArmsItsWindowAndIsReviewed) {
  const Ticket t = ticket("approved", 1);
  EXPECT_CALL(leases_, watchWindow("CHG7", toMillis(t.window_end)));
  EXPECT_CALL(leases_, revokeTicket(_, _)).Times(0);
  EXPECT_CALL(review_, reviewTicket(_, "ticket_changed")).WillOnce(Return(size_t{0}));
  auto out = svc_->apply(t, "webhook");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(out->applied);
}

// The ids of `ended`, to match what the store handed the lease side.
std::vector<std::string> idsOf(const std::vector<store::EndedLease>& ended) {
  std::vector<std::string> ids;
  for (const auto& e : ended) ids.push_back(e.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST_F(TicketServiceEventsTest, ATerminalStateEndsEveryLeaseInTheWriteAndTellsTheLeaseSide) {
  for (const char* state : {"closed", "canceled", "rejected"}) {
    SCOPED_TRACE(state);
    svc_ = std::make_unique<TicketService>(*store_, leases_, review_, audit_, clock_);
    Ticket t = ticket(state, 1);
    t.id = std::string("CHG-") + state;
    for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(store_->insertLease(lease(t.id + n, t.id)).ok());
    const std::string reason = std::string("ticket_") + state;
    EXPECT_CALL(leases_, ticketLeasesEnded(_, reason))
        .WillOnce([&](const std::vector<store::EndedLease>& ended, const std::string&) {
          EXPECT_EQ(idsOf(ended), (std::vector<std::string>{t.id + "a", t.id + "b", t.id + "c"}));
          // Already ended when the lease side hears of it: the same transaction ended them.
          EXPECT_EQ((*store_->getLease(t.id + "a"))->state, store::LeaseState::kRevoked);
          return ended.size();
        });
    EXPECT_CALL(leases_, revokeTicket(_, _)).Times(0);
    EXPECT_CALL(leases_, watchWindow(_, _)).Times(0);
    EXPECT_CALL(review_, reviewTicket(_, _)).Times(0);
    auto out = svc_->apply(t, "webhook");
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->revoked, 3u);
    EXPECT_EQ((*store_->getLease(t.id + "b"))->reason, reason);
  }
}

TEST_F(TicketServiceEventsTest, WithdrawnApprovalAndAnEndedWindowEndTheLeases) {
  ASSERT_TRUE(store_->insertLease(lease("L1", "CHG7")).ok());
  EXPECT_CALL(leases_, ticketLeasesEnded(::testing::SizeIs(1), "approval_withdrawn"))
      .WillOnce(Return(size_t{1}));
  ASSERT_TRUE(svc_->apply(ticket("pending", 1), "webhook").ok());
  EXPECT_EQ((*store_->getLease("L1"))->state, store::LeaseState::kRevoked);

  Ticket over = ticket("approved", 2);
  over.window_start = clock_.now() - 2h;
  over.window_end = clock_.now() - 1h;
  EXPECT_CALL(leases_, ticketLeasesEnded(::testing::IsEmpty(), "window_ended"))
      .WillOnce(Return(size_t{0}));
  EXPECT_CALL(leases_, watchWindow(_, _)).Times(0);
  EXPECT_CALL(review_, reviewTicket(_, _)).Times(0);
  ASSERT_TRUE(svc_->apply(over, "webhook").ok());
}

TEST_F(TicketServiceEventsTest, AFailedWriteChangesNothingSoTheRedeliveryApplies) {
  NiceMock<jitb::testing::MockStore> failing;
  EXPECT_CALL(failing, applyTicket(_, _))
      .WillOnce(Return(core::StatusOr<store::TicketApplied>(core::unavailable("store is down"))));
  EXPECT_CALL(leases_, ticketLeasesEnded(_, _)).Times(0);
  TicketService down(failing, leases_, review_, audit_, clock_);
  EXPECT_FALSE(down.apply(ticket("closed", 1), "webhook").ok());
  // Nothing was written, so the retried event is not ignored as terminal.
  EXPECT_CALL(leases_, ticketLeasesEnded(_, "ticket_closed")).WillOnce(Return(size_t{0}));
  auto retried = svc_->apply(ticket("closed", 1), "webhook");
  ASSERT_TRUE(retried.ok());
  EXPECT_TRUE(retried->applied);
}

TEST_F(TicketServiceEventsTest, AReviewThatCannotFailClosedIsRunAgainByTheSweep) {
  const Ticket t = ticket("approved", 1);
  EXPECT_CALL(leases_, watchWindow(_, _)).Times(::testing::AnyNumber());
  EXPECT_CALL(review_, reviewTicket(_, "ticket_changed"))
      .WillOnce(Return(core::StatusOr<size_t>(core::unavailable("policies unavailable"))));
  EXPECT_CALL(leases_, revokeTicket("CHG7", "review_failed"))
      .WillOnce(Return(core::StatusOr<size_t>(core::unavailable("store is down"))));
  EXPECT_FALSE(svc_->apply(t, "webhook").ok());
  ASSERT_EQ(store_->pendingReviews(INT64_MAX, 10).value().size(), 1u);
  // Within the grace a review may still be running: left alone.
  EXPECT_EQ(*svc_->sweepReviews(), 0u);
  clock_.advance(kReviewGrace);
  EXPECT_CALL(review_, reviewTicket(::testing::Field(&Ticket::id, "CHG7"), "ticket_changed"))
      .WillOnce(Return(size_t{2}));
  auto swept = svc_->sweepReviews();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 2u);
  EXPECT_TRUE(store_->pendingReviews(INT64_MAX, 10).value().empty());
  EXPECT_EQ(*svc_->sweepReviews(), 0u);  // done: not judged a third time
}

TEST_F(TicketServiceEventsTest, AFailedReviewEndsEveryLeaseAndClearsTheMark) {
  EXPECT_CALL(leases_, watchWindow(_, _));
  EXPECT_CALL(review_, reviewTicket(_, _))
      .WillOnce(Return(core::StatusOr<size_t>(core::unavailable("policies unavailable"))));
  EXPECT_CALL(leases_, revokeTicket("CHG7", "review_failed")).WillOnce(Return(size_t{4}));
  auto out = svc_->apply(ticket("approved", 1), "webhook");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->revoked, 4u);
  EXPECT_TRUE(store_->pendingReviews(INT64_MAX, 10).value().empty());
}

// The process died after the ticket's write and before its review: a new process's sweep
// judges the stored ticket's leases.
TEST_F(TicketServiceEventsTest, AReviewInterruptedByACrashIsRunByTheNextProcess) {
  const Ticket t = ticket("approved", 1);
  store::TicketRow row{t.id, t.state, toMillis(t.updated_at), toMillis(t.window_end),
                       boost::json::serialize(ticketToJson(t)), toMillis(clock_.now())};
  ASSERT_TRUE(store_->applyTicket(row, {store::TicketEffect::Kind::kReview, "", 0}).ok());
  clock_.advance(kReviewGrace + 1s);
  EXPECT_CALL(review_, reviewTicket(::testing::Field(&Ticket::subjects,
                                                     std::vector<std::string>{"ci"}),
                                    "ticket_changed"))
      .WillOnce(Return(size_t{1}));
  EXPECT_EQ(*svc_->sweepReviews(), 1u);
  EXPECT_TRUE(store_->pendingReviews(INT64_MAX, 10).value().empty());
}

}  // namespace
}  // namespace jitb::tickets
