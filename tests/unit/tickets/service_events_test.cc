// TicketService against a mocked lease side: what each ticket change asks of the leases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/store/sqlite_store.h"
#include "broker/tickets/service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_audit_sink.h"
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

TEST_F(TicketServiceEventsTest, ATerminalStateEndsEveryLeaseWithTheStateAsReason) {
  for (const char* state : {"closed", "canceled", "rejected"}) {
    SCOPED_TRACE(state);
    svc_ = std::make_unique<TicketService>(*store_, leases_, review_, audit_, clock_);
    Ticket t = ticket(state, 1);
    t.id = std::string("CHG-") + state;
    EXPECT_CALL(leases_, revokeTicket(t.id, std::string("ticket_") + state))
        .WillOnce(Return(size_t{3}));
    EXPECT_CALL(leases_, watchWindow(_, _)).Times(0);
    auto out = svc_->apply(t, "webhook");
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->revoked, 3u);
  }
}

TEST_F(TicketServiceEventsTest, WithdrawnApprovalAndAnEndedWindowEndTheLeases) {
  EXPECT_CALL(leases_, revokeTicket("CHG7", "approval_withdrawn")).WillOnce(Return(size_t{1}));
  ASSERT_TRUE(svc_->apply(ticket("pending", 1), "webhook").ok());

  Ticket over = ticket("approved", 2);
  over.window_start = clock_.now() - 2h;
  over.window_end = clock_.now() - 1h;
  EXPECT_CALL(leases_, revokeTicket("CHG7", "window_ended")).WillOnce(Return(size_t{0}));
  EXPECT_CALL(leases_, watchWindow(_, _)).Times(0);
  ASSERT_TRUE(svc_->apply(over, "webhook").ok());
}

TEST_F(TicketServiceEventsTest, AFailedRevocationIsReturned) {
  EXPECT_CALL(leases_, revokeTicket("CHG7", "ticket_closed"))
      .WillOnce(Return(core::StatusOr<size_t>(core::unavailable("store is down"))));
  auto out = svc_->apply(ticket("closed", 1), "webhook");
  EXPECT_FALSE(out.ok());
}

}  // namespace
}  // namespace jitb::tickets
