// The store conformance suite: behaviour every store::Store backend shares, checked against
// each backend by parameterised tests (TEST_P in conformance_*_test.cc; every backend's test
// binary instantiates them with INSTANTIATE_STORE_CONFORMANCE).
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/support/store_rows.h"
#include "tests/unit/store_conformance/races.h"
#include "tests/unit/store_conformance/store_env.h"

namespace jitb::store::conformance {

// What two concurrent ends of the same leases reported between them: `distinct` leases, in
// `reports` (more than distinct when both ended one).
struct EndedTally {
  size_t distinct = 0, reports = 0;
};
inline EndedTally tallyEnded(const std::vector<EndedLease>& a, const std::vector<EndedLease>& b) {
  std::set<std::string> ids;
  for (const auto& e : a) ids.insert(e.id);
  for (const auto& e : b) ids.insert(e.id);
  return {ids.size(), a.size() + b.size()};
}

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto env = GetParam().make();
    ASSERT_TRUE(env.ok()) << env.status().message() << ": " << env.status().detail();
    env_ = std::move(*env);
    reopen();
  }
  void TearDown() override {
    replica_.reset();
    store_.reset();
    env_.reset();
  }
  void reopen() {
    store_.reset();
    auto s = env_->open();
    ASSERT_TRUE(s.ok()) << s.status().message() << ": " << s.status().detail();
    store_ = std::move(*s);
  }
  // The store a second replica would use: another store on the same database where the backend
  // allows several writers, else the one store.
  Store& replica() {
    if (!env_->severalWriters()) return *store_;
    if (!replica_) {
      auto s = env_->open();
      EXPECT_TRUE(s.ok()) << s.status().message() << ": " << s.status().detail();
      if (!s.ok()) return *store_;
      replica_ = std::move(*s);
    }
    return *replica_;
  }

  // One round of a lease insert (insertLeaseAsync on store_) racing `other`, which runs on a
  // thread of its own; returns the insert's answer: its status and the ticket it saw.
  struct Inserted {
    core::Status status;
    std::optional<TicketState> seen;
  };
  template <class Other>
  Inserted insertRacing(LeaseRow l, Other other) {
    std::promise<Inserted> inserted;
    race(other, [&] {
      store_->insertLeaseAsync(std::move(l), [&](core::Status st, std::optional<TicketState> s) {
        inserted.set_value({std::move(st), std::move(s)});
      });
    });
    return inserted.get_future().get();
  }

  static TicketRow ticket(std::string id, std::string state, int64_t updated_at,
                          int64_t window_end = 50'000) {
    return TicketRow{
        std::move(id), std::move(state), updated_at, window_end, R"({"state":")" + state + "\"}",
        updated_at};
  }
  static LeaseRow lease(std::string id, std::string ticket, LeaseKind kind = LeaseKind::kToken,
                        int64_t expires = 10'000) {
    return jitb::testing::leaseRow(std::move(id), std::move(ticket), kind, expires);
  }

  std::unique_ptr<StoreEnv> env_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> replica_;
};

inline std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

}  // namespace jitb::store::conformance

// Used inside namespace jitb::store::conformance (gtest pastes the suite name into identifiers).
#define INSTANTIATE_STORE_CONFORMANCE(name, backend)                           \
  INSTANTIATE_TEST_SUITE_P(name, StoreConformance, ::testing::Values(backend), \
                           ::jitb::store::conformance::backendName)
