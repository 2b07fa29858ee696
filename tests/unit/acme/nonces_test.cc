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

TEST_F(NoncesTest, EveryReasonForABadNonceIsCounted) {
  metrics::Registry registry;
  Nonces a(*store_, clock_, {std::chrono::seconds(60), 0, &registry});
  ASSERT_TRUE(a.init().ok());
  EXPECT_EQ(a.consume("not-a-nonce").code(), core::Code::kInvalidArgument);
  std::string n = a.issue(), stale = a.issue();
  EXPECT_TRUE(a.consume(n).ok());
  EXPECT_EQ(a.consume(n).code(), core::Code::kInvalidArgument);
  EXPECT_EQ(a.consume(n).code(), core::Code::kInvalidArgument);
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(a.consume(stale).code(), core::Code::kInvalidArgument);
  EXPECT_EQ(badNonceLine(registry, "used"), "jitbroker_acme_bad_nonce_total{reason=\"used\"} 2");
  EXPECT_EQ(badNonceLine(registry, "unknown"), "jitbroker_acme_bad_nonce_total{reason=\"unknown\"} 1");
  EXPECT_EQ(badNonceLine(registry, "expired"), "jitbroker_acme_bad_nonce_total{reason=\"expired\"} 1");
  // Off: no request is ever rejected for testing.
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(a.rejectForTesting("key-a").ok()) << i;
  EXPECT_EQ(badNonceLine(registry, "rejected"), "");
}

TEST_F(NoncesTest, RejectEveryNthCountsEachSigningKeyApart) {
  metrics::Registry registry;
  Nonces a(*store_, clock_, {std::chrono::seconds(60), 3, &registry});
  ASSERT_TRUE(a.init().ok());
  auto rejected = [&](const std::string& key) {
    core::Status st = a.rejectForTesting(key);
    EXPECT_TRUE(st.ok() || st.code() == core::Code::kInvalidArgument);
    if (!st.ok()) {
      EXPECT_NE(st.message().find("acme.reject_nonce_every"), std::string::npos);
    }
    return !st.ok();
  };
  // Key b's requests in between do not move key a's turn: a's every third is refused.
  std::string seen;
  for (int i = 0; i < 6; ++i) {
    seen += rejected("key-a") ? 'R' : '.';
    seen += rejected("key-b") ? 'r' : ',';
    if (i % 2 == 0) seen += rejected("key-c") ? 'x' : ';';
  }
  EXPECT_EQ(seen, ".,;.,Rr;.,.,xRr");
  EXPECT_EQ(badNonceLine(registry, "rejected"), "jitbroker_acme_bad_nonce_total{reason=\"rejected\"} 5");
  // Nonces themselves are never refused for testing: only requests, after their checks.
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(a.consume(a.issue()).ok()) << i;
}

TEST_F(NoncesTest, RejectEveryNthForgetsKeysBeyondItsBound) {
  Nonces a(*store_, clock_, {std::chrono::seconds(60), 2, nullptr});
  ASSERT_TRUE(a.init().ok());
  EXPECT_TRUE(a.rejectForTesting("first").ok());
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(a.rejectForTesting("k" + std::to_string(i)).ok());
  // The table was cleared at its bound: "first" starts again at one.
  EXPECT_TRUE(a.rejectForTesting("first").ok());
  EXPECT_EQ(a.rejectForTesting("first").code(), core::Code::kInvalidArgument);
}

}  // namespace
}  // namespace jitb::acme
