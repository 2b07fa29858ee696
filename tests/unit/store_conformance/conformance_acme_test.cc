// ACME objects (store.h insertAcme/getAcme/updateAcme/listAcme) on every backend.
#include <future>

#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

AcmeRow acme(std::string id, std::string kind, std::string account, std::string status) {
  return {std::move(id), std::move(kind), std::move(account), "CHG1", std::move(status),
          R"({"k":1})", 1000};
}

TEST_P(StoreConformance, AcmeObjectsRoundTripAndIdsAreUnique) {
  EXPECT_FALSE(store_->getAcme("none").value().has_value());
  ASSERT_TRUE(store_->insertAcme(acme("a1", "account", "", "valid")).ok());
  auto got = store_->getAcme("a1").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind, "account");
  EXPECT_EQ(got->ticket, "CHG1");
  EXPECT_EQ(got->status, "valid");
  EXPECT_EQ(got->body, R"({"k":1})");
  EXPECT_EQ(got->updated_at, 1000);
  core::Status again = store_->insertAcme(acme("a1", "account", "", "deactivated"));
  EXPECT_EQ(again.code(), core::Code::kConflict);
  EXPECT_EQ(store_->getAcme("a1").value()->status, "valid");
}

TEST_P(StoreConformance, AcmeUpdateAppliesOnlyFromTheExpectedStatus) {
  ASSERT_TRUE(store_->insertAcme(acme("o1", "order", "a1", "pending")).ok());
  AcmeRow next = acme("o1", "order", "a1", "ready");
  next.body = R"({"k":2})";
  next.updated_at = 2000;
  EXPECT_TRUE(*store_->updateAcme(next, "pending"));
  next.status = "valid";
  EXPECT_FALSE(*store_->updateAcme(next, "pending"));  // it is "ready" now
  auto got = store_->getAcme("o1").value();
  EXPECT_EQ(got->status, "ready");
  EXPECT_EQ(got->body, R"({"k":2})");
  EXPECT_EQ(got->updated_at, 2000);
  EXPECT_FALSE(*store_->updateAcme(acme("missing", "order", "a1", "x"), "pending"));
}

TEST_P(StoreConformance, AcmeListsByKindAndAccountInIdOrder) {
  ASSERT_TRUE(store_->insertAcme(acme("o2", "order", "a1", "pending")).ok());
  ASSERT_TRUE(store_->insertAcme(acme("o1", "order", "a1", "pending")).ok());
  ASSERT_TRUE(store_->insertAcme(acme("o3", "order", "a2", "pending")).ok());
  ASSERT_TRUE(store_->insertAcme(acme("z1", "authz", "a1", "pending")).ok());
  auto mine = store_->listAcme("order", "a1").value();
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].id, "o1");
  EXPECT_EQ(mine[1].id, "o2");
  EXPECT_EQ(store_->listAcme("order", "").value().size(), 3u);
  EXPECT_EQ(store_->listAcme("authz", "a2").value().size(), 0u);
}

// An EAB key is single use: of two replicas consuming it at once, exactly one succeeds.
TEST_P(StoreConformance, AcmeConditionalUpdateHasOneWinnerAcrossReplicas) {
  for (int round = 0; round < 20; ++round) {
    std::string id = "eab" + std::to_string(round);
    ASSERT_TRUE(store_->insertAcme(acme(id, "eab", "", "pending")).ok());
    Store& other = replica();
    auto use = [id](Store& s, std::string who) {
      AcmeRow r = acme(id, "eab", who, "used");
      return s.updateAcme(r, "pending");
    };
    auto a = std::async(std::launch::async, use, std::ref(*store_), "x");
    auto b = std::async(std::launch::async, use, std::ref(other), "y");
    auto ra = a.get(), rb = b.get();
    ASSERT_TRUE(ra.ok() && rb.ok());
    EXPECT_NE(*ra, *rb) << "round " << round;
    auto got = store_->getAcme(id).value();
    EXPECT_EQ(got->account, *ra ? "x" : "y");
  }
}

}  // namespace
}  // namespace jitb::store::conformance
