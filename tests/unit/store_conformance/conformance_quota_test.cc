// Lease quotas, counted by the store in each insert's transaction: at the limit under
// concurrent inserts (threads, and on PostgreSQL two stores as two replicas), after every way
// a lease ends, and across a reopen.
#include <atomic>
#include <future>

#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

LeaseRow leaseOf(const std::string& id, const std::string& ticket, const std::string& subject,
                 int64_t expires = 10'000) {
  LeaseRow l = jitb::testing::leaseRow(id, ticket, LeaseKind::kToken, expires);
  l.subject = subject;
  return l;
}

// Inserts through insertLeaseAsync, waiting for its answer.
core::Status insertAsync(Store& s, LeaseRow l) {
  std::promise<core::Status> p;
  s.insertLeaseAsync(std::move(l), [&p](core::Status st, std::optional<TicketState>) {
    p.set_value(std::move(st));
  });
  return p.get_future().get();
}

int64_t activeOf(Store& s, const std::string& subject) {
  LeaseFilter f;
  f.subject = subject;
  f.state = LeaseState::kActive;
  f.limit = 1000;
  return static_cast<int64_t>(s.listLeases(f).value().size());
}

// 16 inserts for one subject at once, half through a second store where the backend has
// replicas, half of them async: exactly the limit succeed, every round.
TEST_P(StoreConformance, QuotaAtTheLimitFromManyThreadsAdmitsExactlyTheLimit) {
  constexpr int kThreads = 16, kLimit = 5, kRounds = 15;
  Store* replica = &this->replica();
  store_->setLeaseQuotas({kLimit, 1000});
  replica->setLeaseQuotas({kLimit, 1000});
  int wrong_rounds = 0;
  for (int r = 0; r < kRounds; ++r) {
    const std::string subject = "s" + std::to_string(r);
    std::atomic<int> admitted{0}, refused{0}, failed{0};
    onThreads(kThreads, [&](int i) {
      Store& s = i % 2 == 0 ? *store_ : *replica;
      // Distinct tickets: only the subject's quota is contended.
      LeaseRow l = leaseOf(subject + "-L" + std::to_string(i), subject + "-T" + std::to_string(i),
                           subject);
      core::Status st = i % 4 < 2 ? s.insertLease(l) : insertAsync(s, std::move(l));
      if (st.ok()) ++admitted;
      else if (quotaRefused(st) == "subject") ++refused;
      else ++failed;
    });
    ASSERT_EQ(failed.load(), 0) << "round " << r;
    EXPECT_EQ(refused.load(), kThreads - admitted.load());
    wrong_rounds += admitted.load() != kLimit || activeOf(*store_, subject) != kLimit;
  }
  EXPECT_EQ(wrong_rounds, 0) << "of " << kRounds << " rounds admitted other than " << kLimit;
}

// The same for a ticket's quota: many subjects, one ticket.
TEST_P(StoreConformance, TicketQuotaAtTheLimitFromManyThreadsAdmitsExactlyTheLimit) {
  constexpr int kThreads = 16, kLimit = 3;
  Store* replica = &this->replica();
  store_->setLeaseQuotas({1000, kLimit});
  replica->setLeaseQuotas({1000, kLimit});
  std::atomic<int> admitted{0}, refused{0};
  onThreads(kThreads, [&](int i) {
    Store& s = i % 2 == 0 ? *store_ : *replica;
    core::Status st = s.insertLease(leaseOf("L" + std::to_string(i), "T", "s" + std::to_string(i)));
    admitted += st.ok();
    refused += quotaRefused(st) == "ticket";
  });
  EXPECT_EQ(admitted.load(), kLimit);
  EXPECT_EQ(refused.load(), kThreads - kLimit);
}

// A refusal writes nothing: neither the lease nor the count it took before the other quota
// refused it.
TEST_P(StoreConformance, AQuotaRefusalLeavesNoLeaseAndNoCount) {
  store_->setLeaseQuotas({3, 1});
  ASSERT_TRUE(store_->insertLease(leaseOf("A", "T1", "s")).ok());
  core::Status st = store_->insertLease(leaseOf("B", "T1", "s"));
  EXPECT_EQ(st.code(), core::Code::kResourceExhausted);
  EXPECT_EQ(quotaRefused(st), "ticket");
  EXPECT_EQ(st.message(), "too many active leases for this ticket (limit 1)");
  EXPECT_FALSE(store_->getLease("B").value().has_value());
  st = insertAsync(*store_, leaseOf("B2", "T1", "s"));
  EXPECT_EQ(quotaRefused(st), "ticket");
  // Had the refused inserts kept their subject counts, "s" would be full already.
  ASSERT_TRUE(store_->insertLease(leaseOf("C", "T2", "s")).ok());
  ASSERT_TRUE(store_->insertLease(leaseOf("D", "T3", "s")).ok());
  st = store_->insertLease(leaseOf("E", "T4", "s"));
  EXPECT_EQ(quotaRefused(st), "subject");
  EXPECT_EQ(st.message(), "too many active leases for this subject (limit 3)");
  // A lease written already ended takes no slot.
  LeaseRow ended = leaseOf("F", "T5", "s");
  ended.state = LeaseState::kExpired;
  EXPECT_TRUE(store_->insertLease(ended).ok());
}

// Every way a lease ends gives its slots back, in both quotas, once.
TEST_P(StoreConformance, EveryLeaseEndFreesItsSlotsOnce) {
  store_->setLeaseQuotas({2, 1000});
  struct EndPath {
    const char* name;
    std::function<void(Store&, const std::string& id, const std::string& ticket)> end;
  };
  const std::vector<EndPath> paths = {
      {"revokeTicket",
       [](Store& s, const std::string&, const std::string& t) {
         ASSERT_EQ(s.revokeTicket(t, "ticket_closed", 2000).value().size(), 1u);
       }},
      {"endLease",
       [](Store& s, const std::string& id, const std::string&) {
         ASSERT_TRUE(s.endLease(id, LeaseState::kRevoked, "admin", 2000).value().has_value());
       }},
      {"endLeases",
       [](Store& s, const std::string& id, const std::string&) {
         ASSERT_EQ(s.endLeases({id, "no-such-lease"}, LeaseState::kRevoked, "admin", 2000)
                       .value()
                       .size(),
                   1u);
       }},
      {"expireDue",
       [](Store& s, const std::string&, const std::string&) {
         ASSERT_EQ(s.expireDue(5000).value().size(), 1u);
       }},
  };
  int n = 0;
  for (const auto& p : paths) {
    SCOPED_TRACE(p.name);
    const std::string subject = std::string("s-") + p.name;
    const std::string ending = "E" + std::to_string(n), ticket = "TE" + std::to_string(n);
    ++n;
    // The lease to end expires at 5000; the other lives on.
    ASSERT_TRUE(store_->insertLease(leaseOf(ending, ticket, subject, 5000)).ok());
    ASSERT_TRUE(store_->insertLease(leaseOf(ending + "-keep", "TK", subject, 99'000)).ok());
    ASSERT_EQ(quotaRefused(store_->insertLease(leaseOf(ending + "-x", "TX", subject, 99'000))),
              "subject");
    p.end(*store_, ending, ticket);
    // Ending it again changes nothing, so frees nothing.
    EXPECT_FALSE(store_->endLease(ending, LeaseState::kRevoked, "again", 3000).value());
    ASSERT_TRUE(store_->insertLease(leaseOf(ending + "-y", "TY", subject, 99'000)).ok());
    EXPECT_EQ(quotaRefused(store_->insertLease(leaseOf(ending + "-z", "TZ", subject, 99'000))),
              "subject");
  }
  // The ticket counts fell with them: TE0..TE3 each admit one lease again under a limit of 1.
  store_->setLeaseQuotas({1000, 1});
  for (int i = 0; i < n; ++i)
    EXPECT_TRUE(store_->insertLease(leaseOf("again" + std::to_string(i), "TE" + std::to_string(i),
                                            "other" + std::to_string(i), 99'000))
                    .ok())
        << i;
}

// The counts are the database's: another replica on it, and the store reopened, see them.
TEST_P(StoreConformance, ASecondStoreAndAReopenedStoreShareTheCounts) {
  store_->setLeaseQuotas({3, 1000});
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store_->insertLease(leaseOf("A" + std::to_string(i), "T", "s")).ok());
  Store& other = replica();
  other.setLeaseQuotas({3, 1000});
  EXPECT_EQ(quotaRefused(other.insertLease(leaseOf("B", "T", "s"))), "subject");
  ASSERT_TRUE(other.endLease("A0", LeaseState::kRevoked, "admin", 2000).value().has_value());
  ASSERT_TRUE(store_->insertLease(leaseOf("C", "T", "s")).ok());
  EXPECT_EQ(quotaRefused(other.insertLease(leaseOf("D", "T", "s"))), "subject");
  replica_.reset();
  reopen();
  store_->setLeaseQuotas({3, 1000});
  EXPECT_EQ(quotaRefused(store_->insertLease(leaseOf("E", "T", "s"))), "subject");
  // A replica configured with a higher limit admits up to its own limit over the shared count.
  store_->setLeaseQuotas({4, 1000});
  EXPECT_TRUE(store_->insertLease(leaseOf("F", "T", "s")).ok());
  EXPECT_EQ(activeOf(*store_, "s"), 4);
}

// Quotas unset are the defaults, never unlimited. Queued at once, so SQLite commits them in a
// few group commits.
TEST_P(StoreConformance, AStoreWithoutConfiguredQuotasEnforcesTheDefaults) {
  const int64_t limit = LeaseQuotas{}.per_subject;
  std::vector<std::promise<core::Status>> done(static_cast<size_t>(limit) + 1);
  for (int64_t i = 0; i <= limit; ++i)
    store_->insertLeaseAsync(
        leaseOf("L" + std::to_string(i), "T" + std::to_string(i / 100), "s", 99'000),
        [&done, i](core::Status st, std::optional<TicketState>) {
          done[static_cast<size_t>(i)].set_value(std::move(st));
        });
  int64_t admitted = 0, refused = 0;
  for (auto& d : done) {
    core::Status st = d.get_future().get();
    admitted += st.ok();
    refused += quotaRefused(st) == "subject";
  }
  EXPECT_EQ(admitted, limit);
  EXPECT_EQ(refused, 1);
}

}  // namespace
}  // namespace jitb::store::conformance
