// LeaseManager::revokeMatching: revocation by ticket, subject or grant, with a dry run.
#include "broker/leases/lease_manager.h"
#include "tests/unit/leases/fixture.h"

namespace jitb::leases {
namespace {

using store::LeaseState;

class RevokeMatchingTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    m_ = std::make_unique<LeaseManager>(*store_, audit_, clock_, Quotas{5000, 5000}, metrics_);
    ASSERT_TRUE(m_->start().ok());
  }
  void TearDown() override {
    m_.reset();
    StoreFixture::TearDown();
  }
  void add(const std::string& id, const std::string& ticket, const std::string& subject,
           const std::string& grant) {
    auto l = lease(id, ticket, 60000, subject);
    l.grant = grant;
    ASSERT_TRUE(m_->record(l).ok());
  }
  LeaseState state(const std::string& id) { return (*store_->getLease(id))->state; }
  store::LeaseFilter match(std::string ticket, std::string subject, std::string grant) {
    store::LeaseFilter f;
    f.ticket = std::move(ticket);
    f.subject = std::move(subject);
    f.grant = std::move(grant);
    return f;
  }
  std::unique_ptr<LeaseManager> m_;
};

TEST_F(RevokeMatchingTest, EndsOnlyActiveLeasesMatchingEveryFieldGiven) {
  add("a1", "T1", "alice", "deploy");
  add("a2", "T1", "alice", "service");
  add("b1", "T1", "bob", "deploy");
  add("c1", "T2", "alice", "deploy");
  ASSERT_TRUE(*m_->revokeLease("c1", "admin"));  // already ended: not reported again
  auto ids = m_->revokeMatching(match("", "alice", "deploy"), "admin", false);
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  EXPECT_EQ(*ids, std::vector<std::string>{"a1"});
  EXPECT_EQ(state("a1"), LeaseState::kRevoked);
  EXPECT_EQ(state("a2"), LeaseState::kActive);
  EXPECT_EQ(state("b1"), LeaseState::kActive);
  EXPECT_EQ((*store_->getLease("a1"))->reason, "admin");
  EXPECT_EQ(m_->activeCount(), 2);
  EXPECT_EQ(audit_.count("leases.revoked_matching"), 1u);

  ids = m_->revokeMatching(match("T1", "", ""), "admin", false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a2", "b1"}));
  EXPECT_EQ(m_->activeCount(), 0);
}

TEST_F(RevokeMatchingTest, DryRunFindsWithoutEnding) {
  add("g1", "T1", "alice", "deploy");
  add("g2", "T2", "bob", "deploy");
  add("s1", "T2", "bob", "service");
  size_t before = audit_.records().size();
  auto ids = m_->revokeMatching(match("", "", "deploy"), "admin", true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(state("g1"), LeaseState::kActive);
  EXPECT_EQ(state("g2"), LeaseState::kActive);
  EXPECT_EQ(m_->activeCount(), 3);
  EXPECT_EQ(audit_.records().size(), before);
}

TEST_F(RevokeMatchingTest, PagesThroughMoreThanOneStorePage) {
  for (int i = 0; i < 1005; ++i)
    add("p" + std::to_string(10000 + i), "BIG", "s" + std::to_string(i % 2), "deploy");
  auto ids = m_->revokeMatching(match("BIG", "", ""), "admin", false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 1005u);
  EXPECT_EQ(m_->activeCount(), 0);
}

TEST_F(RevokeMatchingTest, RefusesAMatchThatNamesNothing) {
  add("x", "T", "alice", "deploy");
  auto ids = m_->revokeMatching(match("", "", ""), "admin", false);
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(state("x"), LeaseState::kActive);
}

}  // namespace
}  // namespace jitb::leases
