#include "broker/leases/lease_manager.h"

#include <future>
#include <thread>
#include <tuple>

#include "tests/unit/leases/fixture.h"

namespace jitb::leases {
namespace {

using store::LeaseState;

class LeaseManagerTest : public testing::StoreFixture {
 protected:
  std::unique_ptr<LeaseManager> manager(Quotas q = {}) {
    auto m = std::make_unique<LeaseManager>(*store_, audit_, clock_, q, metrics_);
    EXPECT_TRUE(m->start().ok());
    return m;
  }
  LeaseState state(const std::string& id) { return (*store_->getLease(id))->state; }
};

TEST_F(LeaseManagerTest, LeaseExpiresAtItsTtl) {
  auto m = manager();
  ASSERT_TRUE(m->record(lease("A", "T", 2000)).ok());
  m->processDue(nowMs() + 1999);
  EXPECT_EQ(state("A"), LeaseState::kActive);
  m->processDue(nowMs() + 2000);
  EXPECT_EQ(state("A"), LeaseState::kExpired);
  EXPECT_EQ(m->activeCount(), 0);
  EXPECT_EQ(audit_.count("lease.expired"), 1u);
}

TEST_F(LeaseManagerTest, TimerThreadWaitsOnTheInjectedClockAndExpiresWhenItIsAdvanced) {
  auto m = manager();
  ASSERT_TRUE(m->record(lease("F", "T", 2000)).ok());
  // The timer sleeps on clock_: each advance wakes it, and it waits again once it has acted.
  clock_.advance(std::chrono::milliseconds(1999));
  ASSERT_TRUE(clock_.waitForSleepers(1));
  EXPECT_EQ(state("F"), LeaseState::kActive);
  clock_.advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(clock_.waitForSleepers(1));
  EXPECT_EQ(state("F"), LeaseState::kExpired);
  EXPECT_EQ((*store_->getLease("F"))->ended_at, nowMs());  // at its expiry, not a poll later
}

// The production clock: the timer's waits are real ones.
TEST_F(LeaseManagerTest, TimerThreadExpiresWithinASecondOfRealTime) {
  core::SystemClock real;
  LeaseManager m(*store_, audit_, real, {}, metrics_);
  ASSERT_TRUE(m.start().ok());
  auto l = lease("R", "T", 0);
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    real.now().time_since_epoch()).count();
  l.issued_at = now;
  l.expires_at = now + 300;
  ASSERT_TRUE(m.record(l).ok());
  for (int i = 0; i < 40 && state("R") == LeaseState::kActive; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(state("R"), LeaseState::kExpired);
}

TEST_F(LeaseManagerTest, RevokeTicketEndsAllItsLeasesAndNotifies) {
  auto m = manager();
  size_t notified = 0;
  m->addListener([&](const std::vector<store::EndedLease>& e, LeaseState s) {
    EXPECT_EQ(s, LeaseState::kRevoked);
    notified += e.size();
  });
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(m->record(lease("L" + std::to_string(i), "T", 60000)).ok());
  ASSERT_TRUE(m->record(lease("other", "U", 60000)).ok());
  auto n = m->revokeTicket("T", "ticket_closed");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 20u);
  EXPECT_EQ(notified, 20u);
  EXPECT_EQ(state("L7"), LeaseState::kRevoked);
  EXPECT_EQ(state("other"), LeaseState::kActive);
  EXPECT_EQ(m->activeCount(), 1);
}

TEST_F(LeaseManagerTest, QuotasRefuseWithResourceExhaustedAndFreeUpWhenLeasesEnd) {
  auto m = manager({/*per_subject=*/2, /*per_ticket=*/3});
  ASSERT_TRUE(m->record(lease("a", "T", 1000, "s1")).ok());
  ASSERT_TRUE(m->record(lease("b", "T", 60000, "s1")).ok());
  auto st = m->record(lease("c", "T", 60000, "s1"));
  EXPECT_EQ(st.code(), core::Code::kResourceExhausted);
  EXPECT_FALSE(store_->getLease("c")->has_value());  // nothing was written
  ASSERT_TRUE(m->record(lease("d", "T", 60000, "s2")).ok());
  EXPECT_EQ(m->record(lease("e", "T", 60000, "s3")).code(), core::Code::kResourceExhausted);
  m->processDue(nowMs() + 1000);  // "a" expires: one slot each for s1 and T
  EXPECT_TRUE(m->record(lease("f", "T", 60000, "s1")).ok());
}

TEST_F(LeaseManagerTest, WindowTimerRevokesUnlessTheTicketWasExtended) {
  ASSERT_EQ(*store_->putTicket({"T", "approved", 1, nowMs() + 5000, "{}", 1}),
            store::TicketWrite::kApplied);
  auto m = manager();
  ASSERT_TRUE(m->record(lease("w", "T", 60000)).ok());
  m->watchWindow("T", nowMs() + 5000);
  // Extended before the old timer fires.
  ASSERT_EQ(*store_->putTicket({"T", "approved", 2, nowMs() + 9000, "{}", 1}),
            store::TicketWrite::kApplied);
  m->watchWindow("T", nowMs() + 9000);
  clock_.advance(std::chrono::milliseconds(5000));
  m->processDue(nowMs());
  EXPECT_EQ(state("w"), LeaseState::kActive);
  clock_.advance(std::chrono::milliseconds(4000));
  m->processDue(nowMs());
  EXPECT_EQ(state("w"), LeaseState::kRevoked);
  EXPECT_EQ((*store_->getLease("w"))->reason, "window_ended");
}

TEST_F(LeaseManagerTest, StartSettlesWhatEndedWhileDown) {
  ASSERT_EQ(*store_->putTicket({"OPEN", "approved", 1, nowMs() + 60000, "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_EQ(*store_->putTicket({"SHUT", "closed", 1, nowMs() + 60000, "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_EQ(*store_->putTicket({"OVER", "approved", 1, nowMs() - 1, "{}", 1}),
            store::TicketWrite::kApplied);
  // Rows written directly, as if the broker had crashed before settling them.
  ASSERT_TRUE(store_->insertLease(lease("live", "OPEN", 60000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("ttl", "OPEN", -1)).ok());
  ASSERT_TRUE(store_->insertLease(lease("closed", "SHUT", 60000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("window", "OVER", 60000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("orphan", "NONE", 60000)).ok());
  LeaseManager m(*store_, audit_, clock_, {}, metrics_);
  EXPECT_FALSE(m.ready());
  ASSERT_TRUE(m.start().ok());
  EXPECT_TRUE(m.ready());
  EXPECT_EQ(state("live"), LeaseState::kActive);
  EXPECT_EQ(state("ttl"), LeaseState::kExpired);
  EXPECT_EQ(state("closed"), LeaseState::kRevoked);
  EXPECT_EQ((*store_->getLease("closed"))->reason, "ticket_closed");
  EXPECT_EQ((*store_->getLease("window"))->reason, "window_ended");
  EXPECT_EQ((*store_->getLease("orphan"))->reason, "ticket_unknown");
  EXPECT_EQ(m.activeCount(), 1);
}

TEST_F(LeaseManagerTest, RevokeLeaseOnlyOnce) {
  auto m = manager();
  ASSERT_TRUE(m->record(lease("x", "T", 60000)).ok());
  EXPECT_TRUE(*m->revokeLease("x", "admin"));
  EXPECT_FALSE(*m->revokeLease("x", "admin"));
  EXPECT_FALSE(*m->revokeLease("nope", "admin"));
  EXPECT_EQ(m->activeCount(), 0);
}

// The race a close can lose to an issuance: the issuer read the ticket while it was still
// approved, the close revoked the ticket's leases, and only then was this lease written.
TEST_F(LeaseManagerTest, ALeaseRecordedAfterItsTicketEndedIsRevokedAndNotIssued) {
  auto m = manager();
  ASSERT_EQ(*store_->putTicket({"C", "closed", 1, nowMs() + 60000, "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_EQ(*store_->putTicket({"P", "pending", 1, nowMs() + 60000, "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_EQ(*store_->putTicket({"E", "approved", 1, nowMs(), "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_EQ(*store_->putTicket({"OK", "approved", 1, nowMs() + 60000, "{}", 1}),
            store::TicketWrite::kApplied);
  for (auto [id, ticket, reason] : {std::tuple{"c", "C", "ticket_closed"},
                                    std::tuple{"p", "P", "approval_withdrawn"},
                                    std::tuple{"e", "E", "window_ended"}}) {
    EXPECT_EQ(m->record(lease(id, ticket, 60000)).code(), core::Code::kUnavailable) << id;
    auto row = *store_->getLease(id);
    ASSERT_TRUE(row.has_value()) << id;
    EXPECT_EQ(row->state, LeaseState::kRevoked) << id;
    EXPECT_EQ(row->reason, reason) << id;
  }
  EXPECT_EQ(m->activeCount(), 0);
  EXPECT_EQ(audit_.count("lease.revoked"), 3u);
  EXPECT_TRUE(m->record(lease("ok", "OK", 60000)).ok());
  EXPECT_EQ(state("ok"), LeaseState::kActive);
}

// recordAsync: no thread waits for the sync, and nothing that writes runs on the writer thread.
TEST_F(LeaseManagerTest, AsyncRecordAnswersFromTheWriterAndOffloadsTheRacedRevocation) {
  auto m = manager({1000, 3});
  ASSERT_EQ(*store_->putTicket({"OK", "approved", 1, nowMs() + 60000, "{}", 1}),
            store::TicketWrite::kApplied);
  ASSERT_EQ(*store_->putTicket({"C", "closed", 1, nowMs() + 60000, "{}", 1}),
            store::TicketWrite::kApplied);
  const auto caller = std::this_thread::get_id();

  std::promise<std::pair<core::Status, std::thread::id>> ok;
  m->recordAsync(lease("a", "OK", 60000),
                 [&](core::Status st) { ok.set_value({st, std::this_thread::get_id()}); },
                 [](std::function<void()>) { ADD_FAILURE() << "nothing to offload"; });
  auto [st, on] = ok.get_future().get();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_NE(on, caller);  // answered by the store's writer thread
  EXPECT_EQ(state("a"), LeaseState::kActive);

  // Judged while C was approved, recorded after its close: the revocation is handed off.
  std::promise<std::function<void()>> handed;
  std::promise<core::Status> raced;
  m->recordAsync(lease("c", "C", 60000), [&](core::Status s) { raced.set_value(s); },
                 [&](std::function<void()> fn) { handed.set_value(std::move(fn)); });
  auto revoke = handed.get_future().get();
  auto answer = raced.get_future();
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  revoke();  // here, on a thread that may block
  EXPECT_EQ(answer.get().code(), core::Code::kUnavailable);
  EXPECT_EQ(state("c"), LeaseState::kRevoked);
  EXPECT_EQ((*store_->getLease("c"))->reason, "ticket_closed");

  // A quota refusal is the store's: answered from the writer too, nothing written.
  ASSERT_TRUE(m->record(lease("b", "OK", 60000)).ok());
  ASSERT_TRUE(m->record(lease("b2", "OK", 60000)).ok());
  std::promise<std::pair<core::Status, std::thread::id>> refused;
  m->recordAsync(lease("d", "OK", 60000),
                 [&](core::Status s) { refused.set_value({s, std::this_thread::get_id()}); },
                 [](std::function<void()>) { ADD_FAILURE() << "nothing to offload"; });
  auto [quota, refused_on] = refused.get_future().get();
  EXPECT_EQ(quota.code(), core::Code::kResourceExhausted);
  EXPECT_EQ(quota.message(), "too many active leases for this ticket (limit 3)");
  EXPECT_NE(refused_on, caller);
  EXPECT_FALSE(store_->getLease("d")->has_value());
  EXPECT_EQ(m->activeCount(), 3);
}

}  // namespace
}  // namespace jitb::leases
