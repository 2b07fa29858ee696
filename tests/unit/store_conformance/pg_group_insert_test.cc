// PgStore's group commit of async lease inserts: what one worker drains from its queue goes into
// one transaction, and each lease still gets its own outcome.
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "broker/store/postgres/pg_conn.h"
#include "tests/support/store_rows.h"
#include "tests/unit/store_conformance/pg_env.h"

namespace jitb::store {
namespace {

using conformance::PgEnv;

// One worker whose inserts are slowed (3 ms a row), so that inserts queued in a burst wait for
// the one being written and then go together.
struct GroupFixture {
  std::unique_ptr<PgEnv> env;
  std::unique_ptr<PgStore> store;
  std::unique_ptr<pg::Conn> admin;
  void open() {
    PgOptions o;
    o.async_workers = 1;
    auto e = PgEnv::create(o);
    ASSERT_TRUE(e.ok()) << e.status().message();
    env = std::move(*e);
    auto s = env->openPg();
    ASSERT_TRUE(s.ok()) << s.status().detail();
    store = std::move(*s);
    ASSERT_TRUE(env->slowLeaseInserts().ok());
    auto c = pg::Conn::connect(env->uri(), 5);
    ASSERT_TRUE(c.ok());
    admin = std::move(*c);
  }
  // Queues every lease at once; the answers in queue order.
  std::vector<std::pair<core::Status, std::optional<TicketState>>> insertBurst(
      std::vector<LeaseRow> leases) {
    std::vector<std::promise<std::pair<core::Status, std::optional<TicketState>>>> ps(
        leases.size());
    for (size_t i = 0; i < leases.size(); ++i)
      store->insertLeaseAsync(std::move(leases[i]),
                              [p = &ps[i]](core::Status st, std::optional<TicketState> seen) {
                                p->set_value({std::move(st), std::move(seen)});
                              });
    std::vector<std::pair<core::Status, std::optional<TicketState>>> out;
    for (auto& p : ps) out.push_back(p.get_future().get());
    return out;
  }
  // Transactions that wrote `ids` (rows of one transaction share their xmin).
  int64_t transactionsOf(const std::string& prefix) {
    auto r = admin->query("SELECT count(DISTINCT xmin::text) FROM leases WHERE id LIKE $1",
                          {prefix + "%"}, "xmins");
    EXPECT_TRUE(r.ok()) << r.status().detail();
    return r.ok() ? r->int64(0, 0) : -1;
  }
};

LeaseRow leaseOf(const std::string& id, const std::string& ticket) {
  return jitb::testing::leaseRow(id, ticket);
}

TEST(PgGroupInsert, ABurstIsWrittenInFewTransactionsAndTheQuotaRefusesTheLastInQueueOrder) {
  GroupFixture f;
  ASSERT_NO_FATAL_FAILURE(f.open());
  ASSERT_EQ(*f.store->putTicket({"T", "approved", 1, 5'000'000, "{\"id\":\"T\"}", 1}),
            TicketWrite::kApplied);
  f.store->setLeaseQuotas({1000, 30});
  constexpr int kLeases = 40;
  std::vector<LeaseRow> leases;
  for (int i = 0; i < kLeases; ++i) leases.push_back(leaseOf("G" + std::to_string(100 + i), "T"));
  auto answers = f.insertBurst(std::move(leases));
  for (int i = 0; i < kLeases; ++i) {
    const auto& [st, seen] = answers[i];
    if (i < 30) {
      EXPECT_TRUE(st.ok()) << i << ": " << st.detail();
    } else {
      EXPECT_EQ(quotaRefused(st), "ticket") << i << ": " << st.message();
    }
    ASSERT_TRUE(seen.has_value()) << i;
    EXPECT_EQ(seen->state, "approved");
    EXPECT_EQ(seen->window_end, 5'000'000);
    EXPECT_EQ(seen->json, "{\"id\":\"T\"}");
  }
  // 30 leases written; one alone would make 30 transactions.
  EXPECT_LE(f.transactionsOf("G"), 5);
  LeaseFilter active;
  active.ticket = "T";
  active.state = LeaseState::kActive;
  EXPECT_EQ(f.store->listLeases(active)->size(), 30u);
  // The counts are exact: ending one frees exactly one slot.
  ASSERT_EQ(f.store->endLeases({"G100"}, LeaseState::kRevoked, "test", 2000)->size(), 1u);
  auto again = f.insertBurst({leaseOf("H1", "T"), leaseOf("H2", "T")});
  EXPECT_TRUE(again[0].first.ok()) << again[0].first.detail();
  EXPECT_EQ(quotaRefused(again[1].first), "ticket");
}

TEST(PgGroupInsert, AFailingLeaseInAGroupFailsAloneAndAnUnknownTicketIsSeenAsNone) {
  GroupFixture f;
  ASSERT_NO_FATAL_FAILURE(f.open());
  ASSERT_EQ(*f.store->putTicket({"T", "approved", 1, 5'000'000, "{}", 1}), TicketWrite::kApplied);
  std::vector<LeaseRow> leases;
  for (int i = 0; i < 20; ++i) leases.push_back(leaseOf("D" + std::to_string(100 + i), "T"));
  leases[12] = leaseOf("D105", "T");  // the id of an earlier lease of the same burst
  leases[12].jti = "jti-other";
  leases[15].ticket = "NOPE";
  auto answers = f.insertBurst(std::move(leases));
  for (int i = 0; i < 20; ++i) {
    if (i == 12) {
      EXPECT_EQ(answers[i].first.code(), core::Code::kInternal) << answers[i].first.detail();
      continue;
    }
    EXPECT_TRUE(answers[i].first.ok()) << i << ": " << answers[i].first.detail();
    EXPECT_EQ(answers[i].second.has_value(), i != 15) << i;
  }
  LeaseFilter all;
  all.limit = 100;
  EXPECT_EQ(f.store->listLeases(all)->size(), 19u);
  EXPECT_EQ(f.store->getLease("D105").value()->jti, "jti-D105");
}

}  // namespace
}  // namespace jitb::store
