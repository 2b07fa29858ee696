// Shared keys on a real SQLite store file: two TokenKeys on one store stand for two replicas.
#include "broker/keystore/token_keys.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/jose/verifier.h"
#include "broker/keystore/shared_ca.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace jitb::keystore {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace json = boost::json;

constexpr milliseconds kDelay{10'000};

class TokenKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::SqliteStore::open(dir_.path() + "/broker.db");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  std::unique_ptr<TokenKeys> replica(SharedKeys& keys) {
    auto t = TokenKeys::open(keys, clock_, kDelay);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? std::move(*t) : nullptr;
  }
  std::string token(TokenKeys& k) {
    int64_t exp = core::unixSeconds(clock_.now()) + 600;
    return *k.signer().sign({{"iss", "https://b"}, {"sub", "x"}, {"exp", exp}});
  }
  static std::string kidOf(const std::string& jwt) {
    auto header = json::parse(*core::base64urlDecode(jwt.substr(0, jwt.find('.'))));
    return std::string(header.as_object().at("kid").as_string());
  }
  bool verifies(TokenKeys& k, const std::string& jwt) {
    auto set = jose::KeySet::fromJson(k.signer().jwks());  // as a JWKS client sees it
    return set.ok() && jose::verifyJwt(jwt, *set, {"https://b", ""}, clock_.now()).ok();
  }
  static size_t published(TokenKeys& k) { return k.signer().jwks().at("keys").as_array().size(); }

  jitb::testing::TempDir dir_;
  std::unique_ptr<store::SqliteStore> store_;
  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
  std::unique_ptr<Kek> kek_ = FileKek::fromBytes(std::string(32, 'k'), "test").value();
};

TEST_F(TokenKeysTest, ReplicasOnOneStoreShareOneKey) {
  SharedKeys keys(*store_, *kek_);
  auto a = replica(keys), b = replica(keys);
  EXPECT_EQ(a->signer().kid(), b->signer().kid());
  EXPECT_EQ(json::serialize(a->signer().jwks()), json::serialize(b->signer().jwks()));
  EXPECT_TRUE(verifies(*b, token(*a)));
  EXPECT_EQ(store_->listKeyMaterial(kTokenSigningPurpose)->size(), 1u);
  // The stored row carries no key in the clear.
  auto row = store_->listKeyMaterial(kTokenSigningPurpose)->front();
  EXPECT_EQ(row.public_data.find("\"d\""), std::string::npos);
  EXPECT_EQ(row.ciphertext.find("PRIVATE"), std::string::npos);
}

TEST_F(TokenKeysTest, RotationPublishesFirstAndSignsAfterTheDelay) {
  SharedKeys keys(*store_, *kek_);
  auto a = replica(keys), b = replica(keys);
  const std::string old_kid = a->signer().kid();
  ASSERT_TRUE(a->signer().rotate(clock_.now()).ok());
  const std::string new_kid = a->signer().newestKid();
  EXPECT_NE(new_kid, old_kid);
  // Phase 1: at A at once, at B from its next refresh; nobody signs with it yet.
  EXPECT_EQ(published(*a), 2u);
  EXPECT_EQ(published(*b), 1u);
  ASSERT_TRUE(b->refresh().ok());
  EXPECT_EQ(published(*b), 2u);
  EXPECT_EQ(json::serialize(a->signer().jwks()), json::serialize(b->signer().jwks()));
  EXPECT_EQ(kidOf(token(*a)), old_kid);
  EXPECT_EQ(kidOf(token(*b)), old_kid);
  clock_.advance(kDelay - milliseconds(1));
  ASSERT_TRUE(a->refresh().ok());
  EXPECT_EQ(kidOf(token(*a)), old_kid);
  // Phase 2: the delay is over; both sign with the new key, and either's token verifies at
  // the other's JWKS, which still holds the old key for the tokens it signed.
  clock_.advance(milliseconds(1));
  ASSERT_TRUE(a->refresh().ok());
  ASSERT_TRUE(b->refresh().ok());
  std::string from_a = token(*a), from_b = token(*b);
  EXPECT_EQ(kidOf(from_a), new_kid);
  EXPECT_EQ(kidOf(from_b), new_kid);
  EXPECT_TRUE(verifies(*b, from_a));
  EXPECT_TRUE(verifies(*a, from_b));
  EXPECT_EQ(published(*a), 2u);
  // A day after the successor began signing, the old key leaves the JWKS.
  clock_.advance(hours(24));
  ASSERT_TRUE(b->refresh().ok());
  EXPECT_EQ(published(*b), 1u);
  EXPECT_EQ(b->signer().kid(), new_kid);
}

TEST_F(TokenKeysTest, RefresherThreadPicksUpAnotherReplicasRotation) {
  SharedKeys keys(*store_, *kek_);
  auto a = replica(keys), b = replica(keys);
  b->start(milliseconds(500));
  ASSERT_TRUE(a->signer().rotate(clock_.now()).ok());
  for (int i = 0; i < 200 && published(*b) < 2; ++i) {
    clock_.advance(milliseconds(500));  // wakes the refresher; no sleep stands in for time
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(published(*b), 2u);
  b->stop();
}

TEST_F(TokenKeysTest, AnotherKekIsRefusedWithTheOperatorsMessage) {
  SharedKeys keys(*store_, *kek_);
  ASSERT_NE(replica(keys), nullptr);
  auto other = FileKek::fromBytes(std::string(32, 'o'), "other").value();
  SharedKeys wrong(*store_, *other);
  auto t = TokenKeys::open(wrong, clock_, kDelay);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), kWrongKek);
  EXPECT_EQ(store_->listKeyMaterial(kTokenSigningPurpose)->size(), 1u);  // nothing added
}

TEST_F(TokenKeysTest, CaAndSshCaAreMadeOnceAndReadBackAlike) {
  SharedKeys keys(*store_, *kek_);
  ca::CaConfig cfg;
  cfg.public_url = "https://broker.example";
  auto first = loadOrCreateCa(keys, cfg, clock_.now());
  ASSERT_TRUE(first.ok()) << first.status().message();
  cfg.algorithm = ca::KeyAlgorithm::kEcP384;  // a stored CA keeps its own
  auto second = loadOrCreateCa(keys, cfg, clock_.now());
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ((*first)->chainPem(), (*second)->chainPem());
  EXPECT_EQ((*first)->chainPem().size(), 2u);
  EXPECT_TRUE((*second)->rootKeyOnline());
  auto leaf = (*second)->issueWithServerKey(
      {ca::ProfileKind::kServer, "", {"svc.example"}, {}, {}, clock_.now() + hours(1)},
      ca::KeyAlgorithm::kEcP256, clock_.now());
  ASSERT_TRUE(leaf.ok());
  auto ssh1 = loadOrCreateSshCa(keys, ca::KeyAlgorithm::kEd25519, clock_.now());
  auto ssh2 = loadOrCreateSshCa(keys, ca::KeyAlgorithm::kEd25519, clock_.now());
  ASSERT_TRUE(ssh1.ok() && ssh2.ok());
  EXPECT_EQ(ssh1->publicKeyLine(), ssh2->publicKeyLine());
  EXPECT_EQ(store_->listKeyMaterial(kCaPurpose)->size(), 1u);
  EXPECT_EQ(store_->listKeyMaterial(kSshCaPurpose)->size(), 1u);
  auto other = FileKek::fromBytes(std::string(32, 'o'), "other").value();
  SharedKeys wrong(*store_, *other);
  EXPECT_EQ(loadOrCreateCa(wrong, cfg, clock_.now()).status().message(), kWrongKek);
}

}  // namespace
}  // namespace jitb::keystore
