// Shared keys (store.h insertKeyMaterial/listKeyMaterial, keystore/) on every backend, and the
// race of replicas that start together on an empty store: one CA and one signing key survive.
#include <future>
#include <set>

#include "broker/keystore/shared_ca.h"
#include "broker/keystore/token_keys.h"
#include "tests/support/fake_clock.h"
#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

KeyMaterialRow keyRow(std::string id, std::string purpose, int64_t version) {
  return {std::move(id), std::move(purpose), "ES256", version, "{}", "dek", "ct", 1000, 2000};
}

std::unique_ptr<keystore::Kek> testKek(char fill = 'k') {
  return keystore::FileKek::fromBytes(std::string(32, fill), "test").value();
}

TEST_P(StoreConformance, KeyMaterialRoundTripsAndVersionsAreUnique) {
  EXPECT_TRUE(store_->listKeyMaterial("token_signing")->empty());
  ASSERT_TRUE(*store_->insertKeyMaterial(keyRow("k2", "token_signing", 2)));
  ASSERT_TRUE(*store_->insertKeyMaterial(keyRow("k1", "token_signing", 1)));
  ASSERT_TRUE(*store_->insertKeyMaterial(keyRow("c1", "ca", 1)));
  EXPECT_FALSE(*store_->insertKeyMaterial(keyRow("k3", "token_signing", 2)));  // version taken
  EXPECT_FALSE(*store_->insertKeyMaterial(keyRow("k1", "ssh_ca", 1)));         // id taken
  reopen();
  auto rows = store_->listKeyMaterial("token_signing").value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].key_id, "k1");
  EXPECT_EQ(rows[1].key_id, "k2");
  EXPECT_EQ(rows[0].algorithm, "ES256");
  EXPECT_EQ(rows[0].public_data, "{}");
  EXPECT_EQ(rows[0].wrapped_dek, "dek");
  EXPECT_EQ(rows[0].ciphertext, "ct");
  EXPECT_EQ(rows[0].created_at, 1000);
  EXPECT_EQ(rows[0].active_from, 2000);
  EXPECT_EQ(store_->listKeyMaterial("ca")->size(), 1u);
  EXPECT_TRUE(store_->listKeyMaterial("ssh_ca")->empty());
}

TEST_P(StoreConformance, SealedKeysOpenOnlyWithTheirKekAndRow) {
  auto kek = testKek();
  keystore::SharedKeys keys(*store_, *kek);
  keystore::NewKey k;
  k.key_id = "kid-1";
  k.algorithm = "ES256";
  k.public_data = "{}";
  k.secret = "the secret";
  core::TimePoint t{std::chrono::seconds(1'795'456'800)};
  ASSERT_TRUE(*keys.add("token_signing", 1, k, t, t));
  k.key_id = "kid-2";
  k.secret = "another";
  ASSERT_TRUE(*keys.add("token_signing", 2, k, t, t));
  auto opened = keys.list("token_signing");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ((*opened)[1].secret, "another");
  // Row 2's sealed fields copied onto a new row with row 1's identity do not open.
  auto rows = store_->listKeyMaterial("token_signing").value();
  KeyMaterialRow moved = rows[1];
  moved.key_id = "kid-1b";
  moved.version = 3;
  ASSERT_TRUE(*store_->insertKeyMaterial(moved));
  EXPECT_EQ(keys.list("token_signing").status().message(), keystore::kWrongKek);
  auto other = testKek('o');
  keystore::SharedKeys wrong(*store_, *other);
  EXPECT_EQ(wrong.list("ca").value().size(), 0u);  // nothing to open is no error
}

// Replicas starting together on an empty store: every one ends with the same CA, SSH CA and
// signing key, and the store holds one of each. On PostgreSQL each thread has a store (a pool
// of connections) of its own, as replicas do.
TEST_P(StoreConformance, ReplicasStartingTogetherMakeOneCaAndOneSigningKey) {
  constexpr int kReplicas = 8;
  auto kek = testKek();
  core::FakeClock clock(core::TimePoint(std::chrono::seconds(1'795'456'800)));
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kReplicas && env_->severalWriters(); ++i) {
    auto s = env_->open();
    ASSERT_TRUE(s.ok()) << s.status().message();
    stores.push_back(std::move(*s));
  }
  Gate gate(kReplicas);
  struct Outcome {
    std::string error, kid, chain, ssh;
  };
  std::vector<std::future<Outcome>> runs;
  for (int i = 0; i < kReplicas; ++i)
    runs.push_back(std::async(std::launch::async, [&, i] {
      Store& s = stores.empty() ? *store_ : *stores[static_cast<size_t>(i)];
      keystore::SharedKeys keys(s, *kek);
      gate.arriveAndWait();
      Outcome o;
      auto ca = keystore::loadOrCreateCa(keys, {}, clock.now());
      auto tk = keystore::TokenKeys::open(keys, clock, std::chrono::seconds(10));
      auto ssh = keystore::loadOrCreateSshCa(keys, ca::KeyAlgorithm::kEd25519, clock.now());
      if (!ca.ok() || !tk.ok() || !ssh.ok()) {
        o.error = !ca.ok() ? ca.status().message() + " " + ca.status().detail()
                  : !tk.ok() ? tk.status().message() + " " + tk.status().detail()
                             : ssh.status().message() + " " + ssh.status().detail();
        return o;
      }
      o.kid = (*tk)->signer().kid();
      for (const auto& pem : (*ca)->chainPem()) o.chain += pem;
      o.ssh = ssh->publicKeyLine();
      return o;
    }));
  std::set<std::string> kids, chains, sshs;
  int failed = 0;
  for (auto& r : runs) {
    Outcome o = r.get();
    if (!o.error.empty()) {
      ++failed;
      ADD_FAILURE() << o.error;
      continue;
    }
    kids.insert(o.kid);
    chains.insert(o.chain);
    sshs.insert(o.ssh);
  }
  EXPECT_EQ(failed, 0) << "of " << kReplicas << " replicas";
  EXPECT_EQ(kids.size(), 1u);
  EXPECT_EQ(chains.size(), 1u);
  EXPECT_EQ(sshs.size(), 1u);
  EXPECT_EQ(store_->listKeyMaterial(keystore::kCaPurpose)->size(), 1u);
  EXPECT_EQ(store_->listKeyMaterial(keystore::kTokenSigningPurpose)->size(), 1u);
  EXPECT_EQ(store_->listKeyMaterial(keystore::kSshCaPurpose)->size(), 1u);
}

}  // namespace
}  // namespace jitb::store::conformance
