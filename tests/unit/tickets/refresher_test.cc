// Lookups on demand, fail-closed behaviour and reconciliation against a scripted source, with
// the real SQLite store, lease manager and ticket service.
#include "broker/tickets/refresher.h"

#include <gtest/gtest.h>

#include <map>

#include "broker/tickets/itsm_http.h"
#include "broker/tickets/poller.h"
#include "tests/unit/leases/fixture.h"
#include "tests/unit/tickets/mock_lease_review.h"
#include "tests/unit/tickets/ticket_records.h"

namespace jitb::tickets {
namespace {

using namespace std::chrono_literals;
using store::LeaseState;

class FakeSource final : public TicketSource {
 public:
  std::map<std::string, Ticket> records;
  std::map<std::string, std::string> broken;  // id -> why it cannot be read
  bool down = false;
  int fetches = 0;
  std::vector<size_t> batch_sizes;
  std::vector<bool> lookup_lane;  // whether each fetch was made as a lookup

  std::string_view name() const override { return "fake"; }
  bool owns(std::string_view id) const override { return id.rfind("CHG", 0) == 0; }
  size_t batchSize() const override { return 2; }
  core::StatusOr<FetchResult> fetch(const std::vector<std::string>& ids) override {
    ++fetches;
    batch_sizes.push_back(ids.size());
    lookup_lane.push_back(LookupLane::active());
    if (down) return core::unavailable("cannot reach https://fake: Connection refused");
    FetchResult r;
    for (const auto& id : ids) {
      auto it = records.find(id);
      if (broken.count(id)) r.unreadable.emplace_back(id, broken[id]);
      else if (it == records.end()) r.missing.push_back(id);
      else r.found.push_back(it->second);
    }
    return r;
  }
};

class RefresherTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    leases_ = std::make_unique<leases::LeaseManager>(*store_, audit_, clock_, leases::Quotas{}, metrics_);
    ASSERT_TRUE(leases_->start().ok());
    svc_ = std::make_unique<TicketService>(*store_, *leases_, review_, audit_, clock_);
    refresher_ = std::make_unique<Refresher>(*svc_, clock_, 60s);
    source_ = std::make_shared<FakeSource>();
    refresher_->addSource(source_);
  }
  void TearDown() override {
    refresher_.reset();
    svc_.reset();
    leases_.reset();
    StoreFixture::TearDown();
  }
  Ticket record(const std::string& id, std::string state = "approved", int version = 1) {
    return jitb::testing::sourceRecord(clock_, id, std::move(state), version);
  }
  void issue(const std::string& lease_id, const std::string& ticket) {
    ASSERT_TRUE(leases_->record(lease(lease_id, ticket, 600'000, "ci")).ok());
  }
  LeaseState state(const std::string& id) { return (*store_->getLease(id))->state; }

  std::unique_ptr<leases::LeaseManager> leases_;
  ::testing::NiceMock<testing::MockLeaseReview> review_;
  std::unique_ptr<TicketService> svc_;
  std::unique_ptr<Refresher> refresher_;
  std::shared_ptr<FakeSource> source_;
};

TEST_F(RefresherTest, UnseenTicketIsReadFromItsSourceThenServedWhileFresh) {
  source_->records["CHG1"] = record("CHG1");
  auto t = refresher_->lookup("CHG1");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->state, "approved");
  EXPECT_EQ(source_->fetches, 1);
  EXPECT_TRUE(refresher_->lookup("CHG1").ok());
  EXPECT_EQ(source_->fetches, 1);  // fresh: no second read
  clock_.advance(61s);
  EXPECT_TRUE(refresher_->lookup("CHG1").ok());
  EXPECT_EQ(source_->fetches, 2);
  EXPECT_EQ(audit_.count("ticket.received"), 1u);  // the unchanged re-read was not newer
}

TEST_F(RefresherTest, SourceDownFailsClosedAndRecovers) {
  source_->records["CHG1"] = record("CHG1");
  source_->down = true;
  auto t = refresher_->lookup("CHG1");
  EXPECT_EQ(t.status().code(), core::Code::kUnavailable);
  EXPECT_NE(t.status().message().find("fake"), std::string::npos);
  // Stale and the source down: still closed, even though a copy is stored.
  source_->down = false;
  ASSERT_TRUE(refresher_->lookup("CHG1").ok());
  clock_.advance(2min);
  source_->down = true;
  EXPECT_EQ(refresher_->lookup("CHG1").status().code(), core::Code::kUnavailable);
  source_->down = false;
  EXPECT_TRUE(refresher_->lookup("CHG1").ok());
}

TEST_F(RefresherTest, UnreadableRecordDeniesRevokesAndRecoversWhenFixed) {
  source_->records["CHG1"] = record("CHG1");
  source_->records["CHG2"] = record("CHG2");
  ASSERT_TRUE(refresher_->lookup("CHG1").ok());
  ASSERT_TRUE(refresher_->lookup("CHG2").ok());
  issue("l1", "CHG1");
  issue("l2", "CHG2");
  source_->broken["CHG1"] = "servicenow: CHG1 has no sys_updated_on";
  auto r = refresher_->refresh(*source_, {"CHG1", "CHG2"});
  ASSERT_TRUE(r.ok());  // the other ticket of the batch is still applied
  EXPECT_EQ(state("l1"), LeaseState::kRevoked);
  EXPECT_EQ(state("l2"), LeaseState::kActive);
  EXPECT_EQ(audit_.count("ticket.unreadable"), 1u);
  auto t = refresher_->lookup("CHG1");  // not served from the store while broken
  EXPECT_EQ(t.status().code(), core::Code::kPermissionDenied);
  EXPECT_NE(t.status().message().find("sys_updated_on"), std::string::npos);
  source_->broken.clear();
  t = refresher_->lookup("CHG1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->state, "approved");
}

TEST_F(RefresherTest, TerminalTicketsAreNotAskedForAgain) {
  source_->records["CHG1"] = record("CHG1", "closed");
  ASSERT_TRUE(refresher_->lookup("CHG1").ok());
  clock_.advance(2min);
  source_->down = true;
  auto t = refresher_->lookup("CHG1");
  ASSERT_TRUE(t.ok());  // the caller learns the ticket is closed, not that the source is down
  EXPECT_EQ((*t)->state, "closed");
  EXPECT_EQ(source_->fetches, 1);
}

TEST_F(RefresherTest, TicketsOfNoSourceAreServedFromTheStore) {
  EXPECT_TRUE(refresher_->lookup("WEBHOOK-1").ok());
  EXPECT_FALSE(refresher_->lookup("WEBHOOK-1")->has_value());
  EXPECT_EQ(source_->fetches, 0);
}

TEST_F(RefresherTest, TicketDeletedAtTheSourceIsCanceledAndItsLeasesRevoked) {
  source_->records["CHG1"] = record("CHG1");
  ASSERT_TRUE(refresher_->lookup("CHG1").ok());
  issue("l1", "CHG1");
  source_->records.clear();
  auto r = refresher_->refresh(*source_, {"CHG1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->revoked, 1u);
  EXPECT_EQ(state("l1"), LeaseState::kRevoked);
  EXPECT_EQ((*svc_->get("CHG1"))->state, "canceled");
}

TEST_F(RefresherTest, PollerRevokesTicketsClosedAtTheSourceInBatches) {
  for (const char* id : {"CHG1", "CHG2", "CHG3"}) {
    source_->records[id] = record(id);
    ASSERT_TRUE(refresher_->lookup(id).ok());
    issue(std::string("l-") + id, id);
  }
  issue("l-web", "WEBHOOK-1");  // not the source's: never asked for
  source_->records["CHG2"] = record("CHG2", "closed", 2);
  source_->fetches = 0;
  source_->batch_sizes.clear();
  Poller poller(*refresher_, *source_, *store_, metrics_, clock_, 30s);
  ASSERT_TRUE(poller.pollOnce().ok());
  EXPECT_EQ(source_->batch_sizes, (std::vector<size_t>{2, 1}));
  EXPECT_EQ(state("l-CHG2"), LeaseState::kRevoked);
  EXPECT_EQ(state("l-CHG1"), LeaseState::kActive);
  EXPECT_EQ(state("l-web"), LeaseState::kActive);
  std::string m = metrics_.render();
  EXPECT_NE(m.find("jitbroker_ticket_poll_tickets_checked_total{source=\"fake\"} 3"), std::string::npos) << m;
  EXPECT_NE(m.find("jitbroker_ticket_poll_revoked_total{source=\"fake\"} 1"), std::string::npos);
  EXPECT_NE(m.find("jitbroker_ticket_poll_last_success_timestamp_seconds{source=\"fake\"}"), std::string::npos);
  source_->down = true;
  EXPECT_FALSE(poller.pollOnce().ok());  // CHG1 and CHG3 still have leases: one batch, failed
  EXPECT_NE(metrics_.render().find("jitbroker_ticket_poll_errors_total{source=\"fake\"} 1"), std::string::npos);
}

TEST_F(RefresherTest, UnknownTicketIsRememberedForTheNegativeTtlThenAskedAgain) {
  auto t = refresher_->lookup("CHG404");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
  EXPECT_EQ(source_->fetches, 1);
  EXPECT_FALSE(refresher_->mayBlock("CHG404"));  // no lookup thread needed to say "unknown"
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(refresher_->lookup("CHG404")->has_value());
  EXPECT_EQ(source_->fetches, 1);
  clock_.advance(14s);
  EXPECT_FALSE(refresher_->lookup("CHG404")->has_value());
  EXPECT_EQ(source_->fetches, 1);
  clock_.advance(1s);  // the default 15 s are over
  EXPECT_TRUE(refresher_->mayBlock("CHG404"));
  source_->records["CHG404"] = record("CHG404");  // created in the meantime
  t = refresher_->lookup("CHG404");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ(source_->fetches, 2);
}

TEST_F(RefresherTest, ATriggerForARememberedUnknownTicketForgetsTheMiss) {
  EXPECT_FALSE(refresher_->lookup("CHG405")->has_value());
  source_->records["CHG405"] = record("CHG405");
  ASSERT_TRUE(refresher_->refresh(*source_, {"CHG405"}).ok());  // what a trigger does
  auto t = refresher_->lookup("CHG405");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->has_value());
}

TEST_F(RefresherTest, ManyUnknownIdsDoNotCrowdOutWhatIsKnown) {
  source_->records["CHG1"] = record("CHG1");
  ASSERT_TRUE(refresher_->lookup("CHG1").ok());
  Refresher small(*svc_, clock_, 60s, 15s, 3);
  small.addSource(source_);
  ASSERT_TRUE(small.lookup("CHG1").ok());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(small.lookup("CHG9" + std::to_string(i))->has_value());
  source_->fetches = 0;
  EXPECT_TRUE(small.lookup("CHG1").ok());
  EXPECT_EQ(source_->fetches, 0);  // still fresh
  EXPECT_FALSE(small.lookup("CHG99")->has_value());  // among the last three: remembered
  EXPECT_FALSE(small.lookup("CHG90")->has_value());  // evicted: asked again
  EXPECT_EQ(source_->fetches, 1);
}

TEST_F(RefresherTest, LookupsReadInTheLookupLaneTriggersAndPollsDoNot) {
  source_->records["CHG1"] = record("CHG1");
  ASSERT_TRUE(refresher_->lookup("CHG1").ok());
  issue("l1", "CHG1");
  ASSERT_TRUE(refresher_->refresh(*source_, {"CHG1"}).ok());
  Poller poller(*refresher_, *source_, *store_, metrics_, clock_, 30s);
  ASSERT_TRUE(poller.pollOnce().ok());
  EXPECT_EQ(source_->lookup_lane, (std::vector<bool>{true, false, false}));
  EXPECT_FALSE(LookupLane::active());
}

TEST_F(RefresherTest, AFailedLookupIsNotRememberedAsUnknown) {
  source_->down = true;
  EXPECT_EQ(refresher_->lookup("CHG406").status().code(), core::Code::kUnavailable);
  source_->down = false;
  source_->records["CHG406"] = record("CHG406");
  auto t = refresher_->lookup("CHG406");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->has_value());
}

}  // namespace
}  // namespace jitb::tickets
