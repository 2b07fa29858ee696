// What every backend stores and returns, one caller at a time.
#include <algorithm>
#include <future>
#include <set>
#include <thread>

#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

TEST_P(StoreConformance, TicketsRoundTripAndMissingIsEmpty) {
  EXPECT_FALSE(store_->getTicket("CHG0").value().has_value());
  TicketRow t = ticket("CHG1", "approved", 100, 7000);
  ASSERT_EQ(*store_->putTicket(t), TicketWrite::kApplied);
  auto got = store_->getTicket("CHG1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state, "approved");
  EXPECT_EQ((*got)->updated_at, 100);
  EXPECT_EQ((*got)->window_end, 7000);
  EXPECT_EQ((*got)->json, t.json);
  EXPECT_EQ((*got)->received_at, t.received_at);
}

TEST_P(StoreConformance, NewerTicketEventsWinAndOlderOnesAreIgnored) {
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 100)), TicketWrite::kApplied);
  EXPECT_EQ(*store_->putTicket(ticket("T", "approved", 100)), TicketWrite::kIgnoredNotNewer);
  EXPECT_EQ(*store_->putTicket(ticket("T", "pending", 99)), TicketWrite::kIgnoredNotNewer);
  EXPECT_EQ(store_->getTicket("T").value()->state, "approved");
  EXPECT_EQ(*store_->putTicket(ticket("T", "pending", 101)), TicketWrite::kApplied);
  EXPECT_EQ(*store_->putTicket(ticket("T", "approved", 102)), TicketWrite::kApplied);
  EXPECT_EQ(store_->getTicket("T").value()->updated_at, 102);
}

TEST_P(StoreConformance, OnATieTheMoreRestrictiveStateWins) {
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 100)), TicketWrite::kApplied);
  EXPECT_EQ(*store_->putTicket(ticket("T", "pending", 100)), TicketWrite::kApplied);
  EXPECT_EQ(*store_->putTicket(ticket("T", "approved", 100)), TicketWrite::kIgnoredNotNewer);
  EXPECT_EQ(store_->getTicket("T").value()->state, "pending");
  EXPECT_EQ(*store_->putTicket(ticket("T", "closed", 100)), TicketWrite::kApplied);
}

TEST_P(StoreConformance, TerminalAlwaysAppliesAndNeverChanges) {
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 100)), TicketWrite::kApplied);
  // An older close still takes access away.
  EXPECT_EQ(*store_->putTicket(ticket("T", "canceled", 50)), TicketWrite::kApplied);
  EXPECT_EQ(*store_->putTicket(ticket("T", "approved", 500)), TicketWrite::kIgnoredTerminal);
  EXPECT_EQ(*store_->putTicket(ticket("T", "closed", 600)), TicketWrite::kIgnoredTerminal);
  auto got = store_->getTicket("T").value();
  EXPECT_EQ(got->state, "canceled");
  EXPECT_EQ(got->updated_at, 50);
}

TEST_P(StoreConformance, LeasesRoundTripAndAreFoundByJtiAndSerial) {
  LeaseRow tok = lease("L1", "T");
  tok.claims = R"({"sub":"x"})";
  tok.review = true;
  tok.caller_issuer = "https://issuer";
  tok.caller_claims = R"({"repository":"acme/api"})";
  ASSERT_TRUE(store_->insertLease(tok).ok());
  ASSERT_TRUE(store_->insertLease(lease("L2", "T", LeaseKind::kCertificate)).ok());
  auto got = store_->getLease("L1").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind, LeaseKind::kToken);
  EXPECT_EQ(got->ticket, "T");
  EXPECT_EQ(got->grant, "deploy");
  EXPECT_EQ(got->subject, "repo:acme/api");
  EXPECT_EQ(got->state, LeaseState::kActive);
  EXPECT_EQ(got->issued_at, 1000);
  EXPECT_EQ(got->expires_at, 10'000);
  EXPECT_EQ(got->jti, "jti-L1");
  EXPECT_EQ(got->serial, "");
  EXPECT_EQ(got->claims, tok.claims);
  EXPECT_TRUE(got->review);
  EXPECT_EQ(got->caller_issuer, tok.caller_issuer);
  EXPECT_EQ(got->caller_claims, tok.caller_claims);
  EXPECT_EQ(store_->findLeaseByJti("jti-L1").value()->id, "L1");
  EXPECT_EQ(store_->findLeaseBySerial("5eL2").value()->id, "L2");
  EXPECT_FALSE(store_->findLeaseByJti("nope").value().has_value());
  EXPECT_FALSE(store_->getLease("L9").value().has_value());
}

TEST_P(StoreConformance, ADuplicateLeaseIsAnInternalError) {
  ASSERT_TRUE(store_->insertLease(lease("L1", "T")).ok());
  core::Status dup = store_->insertLease(lease("L1", "T"));
  EXPECT_EQ(dup.code(), core::Code::kInternal);
  LeaseRow same_jti = lease("L2", "T");
  same_jti.jti = "jti-L1";
  EXPECT_EQ(store_->insertLease(same_jti).code(), core::Code::kInternal);
  // Certificates carry no jti: their empty jtis are not duplicates of each other.
  LeaseRow a = lease("C1", "T", LeaseKind::kCertificate),
           b = lease("C2", "T", LeaseKind::kCertificate);
  EXPECT_TRUE(store_->insertLease(a).ok());
  EXPECT_TRUE(store_->insertLease(b).ok());
}

TEST_P(StoreConformance, ListLeasesFiltersAndPagesInBytewiseIdOrder) {
  // Upper case sorts before lower case bytewise, unlike most locales' collations.
  for (const char* id : {"b1", "B2", "a3", "A4", "c5"}) {
    LeaseRow l = lease(id, std::string(id) < "a" ? "T1" : "T2");
    l.review = std::string(id) == "c5";
    if (std::string(id) == "a3") l.subject = "other";
    if (std::string(id) == "A4") l.grant = "admin";
    ASSERT_TRUE(store_->insertLease(l).ok());
  }
  ASSERT_TRUE(store_->endLease("b1", LeaseState::kRevoked, "r", 2000).ok());
  auto ids = [](const std::vector<LeaseRow>& v) {
    std::vector<std::string> out;
    for (const auto& l : v) out.push_back(l.id);
    return out;
  };
  using V = std::vector<std::string>;
  auto list = [&](auto set) {
    LeaseFilter f;
    set(f);
    return ids(*store_->listLeases(f));
  };
  EXPECT_EQ(list([](LeaseFilter&) {}), (V{"A4", "B2", "a3", "b1", "c5"}));
  EXPECT_EQ(list([](LeaseFilter& f) { f.ticket = "T1"; }), (V{"A4", "B2"}));
  EXPECT_EQ(list([](LeaseFilter& f) { f.subject = "other"; }), (V{"a3"}));
  EXPECT_EQ(list([](LeaseFilter& f) { f.grant = "admin"; }), (V{"A4"}));
  EXPECT_EQ(list([](LeaseFilter& f) { f.state = LeaseState::kRevoked; }), (V{"b1"}));
  EXPECT_EQ(list([](LeaseFilter& f) { f.review_only = true; }), (V{"c5"}));
  EXPECT_EQ(list([](LeaseFilter& f) {
              f.after_id = "B2";
              f.limit = 2;
            }),
            (V{"a3", "b1"}));
  std::vector<std::string> all;
  LeaseFilter pages;
  pages.limit = 2;
  ASSERT_TRUE(forEachLease(*store_, pages, [&](const LeaseRow& l) { all.push_back(l.id); }).ok());
  EXPECT_EQ(all.size(), 5u);
}

TEST_P(StoreConformance, AsyncInsertReportsTheTicketItReadOffTheCallersThread) {
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 100, 9000)), TicketWrite::kApplied);
  std::promise<std::pair<core::Status, std::optional<TicketState>>> seen;
  std::promise<std::thread::id> where;
  store_->insertLeaseAsync(lease("L1", "T"), [&](core::Status st, std::optional<TicketState> t) {
    where.set_value(std::this_thread::get_id());
    seen.set_value({std::move(st), std::move(t)});
  });
  auto [st, t] = seen.get_future().get();
  EXPECT_NE(where.get_future().get(), std::this_thread::get_id());
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, "approved");
  EXPECT_EQ(t->window_end, 9000);
  EXPECT_EQ(t->json, ticket("T", "approved", 100).json);
  EXPECT_TRUE(store_->getLease("L1").value().has_value());

  std::promise<std::optional<TicketState>> none;
  store_->insertLeaseAsync(
      lease("L2", "missing"),
      [&](core::Status, std::optional<TicketState> got) { none.set_value(got); });
  EXPECT_FALSE(none.get_future().get().has_value());
}

TEST_P(StoreConformance, RevokeTicketEndsItsActiveLeasesOnce) {
  for (const char* id : {"L1", "L2", "L3"}) ASSERT_TRUE(store_->insertLease(lease(id, "T")).ok());
  ASSERT_TRUE(store_->insertLease(lease("O1", "other")).ok());
  ASSERT_TRUE(store_->endLease("L3", LeaseState::kExpired, "ttl", 1500).ok());
  auto ended = store_->revokeTicket("T", "ticket_closed", 2000);
  ASSERT_TRUE(ended.ok());
  std::set<std::string> ids;
  for (const auto& e : *ended) {
    ids.insert(e.id);
    EXPECT_EQ(e.ticket, "T");
    EXPECT_EQ(e.jti, "jti-" + e.id);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"L1", "L2"}));
  auto l1 = store_->getLease("L1").value();
  EXPECT_EQ(l1->state, LeaseState::kRevoked);
  EXPECT_EQ(l1->ended_at, 2000);
  EXPECT_EQ(l1->reason, "ticket_closed");
  EXPECT_EQ(store_->getLease("L3").value()->state, LeaseState::kExpired);
  EXPECT_EQ(store_->getLease("O1").value()->state, LeaseState::kActive);
  EXPECT_TRUE(store_->revokeTicket("T", "again", 3000).value().empty());
  // Without enableRevocationJobs, no jobs.
  EXPECT_EQ(store_->jobCounts().value(), (std::pair<int64_t, int64_t>{0, 0}));
}

TEST_P(StoreConformance, RevocationsEnqueueOneHookJobPerLeaseWhenEnabled) {
  store_->enableRevocationJobs();
  for (const char* id : {"L1", "L2"}) ASSERT_TRUE(store_->insertLease(lease(id, "T")).ok());
  ASSERT_TRUE(store_->insertLease(lease("C3", "U", LeaseKind::kCertificate)).ok());
  ASSERT_TRUE(store_->insertLease(lease("E4", "U")).ok());
  ASSERT_EQ(store_->revokeTicket("T", "ticket_closed", 2000).value().size(), 2u);
  ASSERT_EQ(store_->endLeases({"C3"}, LeaseState::kRevoked, "manual", 2100).value().size(), 1u);
  // Expiry is not a revocation: no job.
  ASSERT_EQ(store_->endLeases({"E4"}, LeaseState::kExpired, "ttl", 2100).value().size(), 1u);
  EXPECT_EQ(store_->jobCounts().value(), (std::pair<int64_t, int64_t>{3, 0}));
  auto jobs = store_->dueJobs(5000, 10).value();
  ASSERT_EQ(jobs.size(), 3u);
  std::set<std::string> leases;
  for (const auto& j : jobs) leases.insert(j.lease_id);
  EXPECT_EQ(leases, (std::set<std::string>{"L1", "L2", "C3"}));
  const JobRow& cert =
      *std::find_if(jobs.begin(), jobs.end(), [](const JobRow& j) { return j.lease_id == "C3"; });
  EXPECT_EQ(cert.payload,
            R"({"event":"lease.revoked","lease":"C3","kind":"certificate","ticket":"U",)"
            R"("reason":"manual","serial":"5eC3","revoked_at_ms":2100})");
  EXPECT_EQ(cert.next_at, 2100);
  EXPECT_EQ(cert.state, JobState::kPending);
}

TEST_P(StoreConformance, EndLeasesReturnsWhatChangedInTheOrderAsked) {
  for (const char* id : {"L1", "L2", "L3"}) ASSERT_TRUE(store_->insertLease(lease(id, "T")).ok());
  ASSERT_TRUE(store_->endLease("L2", LeaseState::kRevoked, "x", 1500).value().has_value());
  EXPECT_FALSE(store_->endLease("L2", LeaseState::kRevoked, "x", 1600).value().has_value());
  auto ended = store_->endLeases({"L3", "L2", "nope", "L1"}, LeaseState::kRevoked, "bulk", 2000);
  ASSERT_TRUE(ended.ok());
  ASSERT_EQ(ended->size(), 2u);
  EXPECT_EQ((*ended)[0].id, "L3");
  EXPECT_EQ((*ended)[1].id, "L1");
  EXPECT_TRUE(store_->endLeases({}, LeaseState::kRevoked, "none", 2000).value().empty());
}

TEST_P(StoreConformance, ExpireDueEndsOnlyWhatIsDue) {
  ASSERT_TRUE(store_->insertLease(lease("L1", "T", LeaseKind::kToken, 1000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("L2", "T", LeaseKind::kToken, 2000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("L3", "T", LeaseKind::kToken, 3000)).ok());
  auto ended = store_->expireDue(2000).value();
  std::set<std::string> ids;
  for (const auto& e : ended) ids.insert(e.id);
  EXPECT_EQ(ids, (std::set<std::string>{"L1", "L2"}));
  auto l1 = store_->getLease("L1").value();
  EXPECT_EQ(l1->state, LeaseState::kExpired);
  EXPECT_EQ(l1->reason, "ttl");
  EXPECT_EQ(l1->ended_at, 2000);
  EXPECT_TRUE(store_->expireDue(2000).value().empty());
}

TEST_P(StoreConformance, StartupReadsSeeActiveLeasesRevokedCertsAndTheirTickets) {
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 100, 8000)), TicketWrite::kApplied);
  ASSERT_TRUE(store_->insertLease(lease("L1", "T")).ok());
  ASSERT_TRUE(store_->insertLease(lease("L2", "ghost")).ok());
  ASSERT_TRUE(store_->insertLease(lease("C1", "T", LeaseKind::kCertificate, 5000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("C2", "T", LeaseKind::kCertificate, 1500)).ok());
  ASSERT_EQ(store_->endLeases({"C1", "C2"}, LeaseState::kRevoked, "x", 1200).value().size(), 2u);
  std::set<std::string> active;
  ASSERT_TRUE(store_->forEachActive([&](const LeaseRow& l) { active.insert(l.id); }).ok());
  EXPECT_EQ(active, (std::set<std::string>{"L1", "L2"}));
  auto crl = store_->revokedUnexpiredCertificates(2000).value();
  ASSERT_EQ(crl.size(), 1u);
  EXPECT_EQ(crl[0].id, "C1");
  EXPECT_TRUE(store_->revokedUnexpiredSsh(2000).value().empty());
  auto tickets = store_->activeTickets().value();
  std::sort(tickets.begin(), tickets.end(),
            [](const ActiveTicket& a, const ActiveTicket& b) { return a.id < b.id; });
  ASSERT_EQ(tickets.size(), 2u);
  EXPECT_EQ(tickets[0].id, "T");
  EXPECT_EQ(tickets[0].state, "approved");
  EXPECT_EQ(tickets[0].window_end, 8000);
  EXPECT_EQ(tickets[1].id, "ghost");
  EXPECT_EQ(tickets[1].state, "unknown");
}

TEST_P(StoreConformance, RevokedUnexpiredSshIsTheKrlsEntriesOnly) {
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 100, 8000)), TicketWrite::kApplied);
  ASSERT_TRUE(store_->insertLease(lease("S1", "T", LeaseKind::kSsh, 5000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("S2", "T", LeaseKind::kSsh, 1500)).ok());
  ASSERT_TRUE(store_->insertLease(lease("S3", "T", LeaseKind::kSsh, 5000)).ok());
  ASSERT_TRUE(store_->insertLease(lease("C1", "T", LeaseKind::kCertificate, 5000)).ok());
  ASSERT_EQ(store_->endLeases({"S1", "S2", "C1"}, LeaseState::kRevoked, "x", 1200).value().size(),
            3u);
  auto krl = store_->revokedUnexpiredSsh(2000).value();
  ASSERT_EQ(krl.size(), 1u);  // S2 has expired, S3 is active, C1 is an X.509 certificate
  EXPECT_EQ(krl[0].id, "S1");
  EXPECT_EQ(krl[0].kind, LeaseKind::kSsh);
  EXPECT_EQ(krl[0].serial, "5eS1");
  EXPECT_STREQ(toString(krl[0].kind), "ssh");
}

TEST_P(StoreConformance, JobsRetryThenFinish) {
  store_->enableRevocationJobs();
  ASSERT_TRUE(store_->insertLease(lease("L1", "T")).ok());
  ASSERT_TRUE(store_->insertLease(lease("L2", "T")).ok());
  ASSERT_EQ(store_->endLeases({"L1"}, LeaseState::kRevoked, "r", 1000).value().size(), 1u);
  ASSERT_EQ(store_->endLeases({"L2"}, LeaseState::kRevoked, "r", 1100).value().size(), 1u);
  EXPECT_TRUE(store_->dueJobs(999, 10).value().empty());
  auto due = store_->dueJobs(1100, 10).value();
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].lease_id, "L1");  // oldest first
  EXPECT_EQ(due[1].lease_id, "L2");
  ASSERT_TRUE(store_->retryJob(due[0].id, 1, 5000, JobState::kPending, "hook down").ok());
  ASSERT_TRUE(store_->retryJob(due[1].id, 5, 3000, JobState::kAttention, "gave up").ok());
  EXPECT_EQ(store_->jobCounts().value(), (std::pair<int64_t, int64_t>{1, 1}));
  auto later = store_->dueJobs(3000, 10).value();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].lease_id, "L2");
  EXPECT_EQ(later[0].attempts, 5);
  EXPECT_EQ(later[0].state, JobState::kAttention);
  EXPECT_EQ(later[0].last_error, "gave up");
  ASSERT_TRUE(store_->finishJob(later[0].id).ok());
  auto last = store_->dueJobs(5000, 10).value();
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].lease_id, "L1");
  ASSERT_TRUE(store_->finishJob(last[0].id).ok());
  EXPECT_EQ(store_->jobCounts().value(), (std::pair<int64_t, int64_t>{0, 0}));
  EXPECT_TRUE(store_->dueJobs(100'000, 10).value().empty());
}

TEST_P(StoreConformance, CountersGrowPerNameAndSurviveAReopen) {
  EXPECT_EQ(*store_->nextCounter("crl"), 1);
  EXPECT_EQ(*store_->nextCounter("crl"), 2);
  EXPECT_EQ(*store_->nextCounter("other"), 1);
  reopen();
  EXPECT_EQ(*store_->nextCounter("crl"), 3);
}

TEST_P(StoreConformance, DeliveriesAreClaimedOnceUntilReleasedOrAWeekOld) {
  constexpr int64_t kWeek = 7LL * 24 * 3600 * 1000;
  EXPECT_TRUE(*store_->claimDelivery("d1", 1000));
  EXPECT_FALSE(*store_->claimDelivery("d1", 2000));
  ASSERT_TRUE(store_->releaseDelivery("d1").ok());
  EXPECT_TRUE(*store_->claimDelivery("d1", 3000));
  EXPECT_FALSE(*store_->claimDelivery("d1", 3000 + kWeek));
  EXPECT_TRUE(*store_->claimDelivery("d1", 3001 + kWeek));  // forgotten after a week
}

TEST_P(StoreConformance, EverythingSurvivesAReopen) {
  store_->enableRevocationJobs();
  ASSERT_EQ(*store_->putTicket(ticket("T", "approved", 100)), TicketWrite::kApplied);
  ASSERT_TRUE(store_->insertLease(lease("L1", "T")).ok());
  ASSERT_TRUE(store_->insertLease(lease("L2", "T")).ok());
  ASSERT_EQ(store_->endLeases({"L2"}, LeaseState::kRevoked, "r", 1000).value().size(), 1u);
  ASSERT_TRUE(*store_->claimDelivery("d", 1000));
  reopen();
  EXPECT_EQ(store_->getTicket("T").value()->state, "approved");
  EXPECT_EQ(store_->getLease("L1").value()->state, LeaseState::kActive);
  EXPECT_EQ(store_->getLease("L2").value()->state, LeaseState::kRevoked);
  EXPECT_EQ(store_->jobCounts().value().first, 1);
  EXPECT_FALSE(*store_->claimDelivery("d", 2000));
}

}  // namespace
}  // namespace jitb::store::conformance
