// Replay-Nonce values (broker/acme/nonces.h) on a real SQLite store: single use across
// replicas, a life, and nothing but the broker's own.
#include "broker/acme/nonces.h"

#include <gtest/gtest.h>

#include "broker/metrics/registry.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace jitb::acme {
namespace {

class NoncesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::SqliteStore::open(dir_.path() + "/broker.db");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  testing::TempDir dir_;
  core::FakeClock clock_{core::TimePoint(std::chrono::seconds(1'800'000'000))};
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(NoncesTest, ANonceIsGoodOnceOnAnyReplicaAndNeverAgain) {
  Nonces a(*store_, clock_, {std::chrono::seconds(60)}), b(*store_, clock_, {std::chrono::seconds(60)});
  ASSERT_TRUE(a.init().ok());
  ASSERT_TRUE(b.init().ok());  // the second replica reads the first one's key
  std::string n1 = a.issue(), n2 = a.issue();
  EXPECT_NE(n1, n2);
  EXPECT_TRUE(b.consume(n1).ok());
  core::Status again = a.consume(n1);
  EXPECT_EQ(again.code(), core::Code::kInvalidArgument);
  EXPECT_NE(again.message().find("used before"), std::string::npos);
  EXPECT_TRUE(a.consume(n2).ok());
}

TEST_F(NoncesTest, ExpiredForgedAndForeignNoncesAreRefused) {
  Nonces a(*store_, clock_, {std::chrono::seconds(60)});
  ASSERT_TRUE(a.init().ok());
  std::string old = a.issue();
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(a.consume(old).code(), core::Code::kInvalidArgument);
  std::string fresh = a.issue();
  std::string forged = fresh;
  forged[5] = forged[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(a.consume(forged).code(), core::Code::kInvalidArgument);
  EXPECT_EQ(a.consume("").code(), core::Code::kInvalidArgument);
  EXPECT_EQ(a.consume("not-a-nonce").code(), core::Code::kInvalidArgument);
  // Another broker's key (another store): its nonces are not this one's.
  testing::TempDir other_dir;
  auto other = store::SqliteStore::open(other_dir.path() + "/broker.db");
  ASSERT_TRUE(other.ok());
  Nonces foreign(**other, clock_, {std::chrono::seconds(60)});
  ASSERT_TRUE(foreign.init().ok());
  EXPECT_EQ(a.consume(foreign.issue()).code(), core::Code::kInvalidArgument);
  EXPECT_TRUE(a.consume(fresh).ok());
}

// The metric's line for `reason`, or "" when it has none yet.
std::string badNonceLine(metrics::Registry& r, const std::string& reason) {
  std::string text = r.render(), want = "jitbroker_acme_bad_nonce_total{reason=\"" + reason + "\"} ";
  auto at = text.find(want);
  return at == std::string::npos ? "" : text.substr(at, text.find('\n', at) - at);
}

TEST_F(NoncesTest, RejectEveryNthRefusesOnlyGoodNoncesAndSpendsThem) {
  metrics::Registry registry;
  Nonces a(*store_, clock_, {std::chrono::seconds(60), 3, &registry});
  ASSERT_TRUE(a.init().ok());
  // Refused nonces (forged, reused) do not count towards the Nth.
  EXPECT_EQ(a.consume("not-a-nonce").code(), core::Code::kInvalidArgument);
  std::vector<std::string> n;
  for (int i = 0; i < 7; ++i) n.push_back(a.issue());
  EXPECT_TRUE(a.consume(n[0]).ok());
  EXPECT_EQ(a.consume(n[0]).code(), core::Code::kInvalidArgument);
  EXPECT_TRUE(a.consume(n[1]).ok());
  core::Status third = a.consume(n[2]);
  EXPECT_EQ(third.code(), core::Code::kInvalidArgument);
  EXPECT_NE(third.message().find("acme.reject_nonce_every"), std::string::npos);
  // The rejected nonce is spent: a retry with it is a reuse, not another rejection.
  EXPECT_NE(a.consume(n[2]).message().find("used before"), std::string::npos);
  EXPECT_TRUE(a.consume(n[3]).ok());
  EXPECT_TRUE(a.consume(n[4]).ok());
  EXPECT_EQ(a.consume(n[5]).code(), core::Code::kInvalidArgument);
  EXPECT_TRUE(a.consume(n[6]).ok());
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(a.consume(a.issue()).code(), core::Code::kOk);
  std::string stale = a.issue();
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(a.consume(stale).code(), core::Code::kInvalidArgument);
  EXPECT_EQ(badNonceLine(registry, "rejected"), "jitbroker_acme_bad_nonce_total{reason=\"rejected\"} 2");
  EXPECT_EQ(badNonceLine(registry, "used"), "jitbroker_acme_bad_nonce_total{reason=\"used\"} 2");
  EXPECT_EQ(badNonceLine(registry, "unknown"), "jitbroker_acme_bad_nonce_total{reason=\"unknown\"} 1");
  EXPECT_EQ(badNonceLine(registry, "expired"), "jitbroker_acme_bad_nonce_total{reason=\"expired\"} 1");
}

TEST_F(NoncesTest, WithoutRejectEveryNoGoodNonceIsRefused) {
  metrics::Registry registry;
  Nonces a(*store_, clock_, {std::chrono::seconds(60), 0, &registry});
  ASSERT_TRUE(a.init().ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(a.consume(a.issue()).ok()) << i;
  EXPECT_EQ(badNonceLine(registry, "rejected"), "");
}

}  // namespace
}  // namespace jitb::acme
