// The first start with a KEK seals the keys a single broker kept in data_dir into the store
// (real files made by the CA and the file signer, a real SQLite store file, the file KEK), so
// that a move to replicas keeps the CA chain, the SSH CA line and the token kids.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "broker/jose/signer.h"
#include "broker/jose/verifier.h"
#include "broker/keystore/data_dir_keys.h"
#include "broker/keystore/shared_ca.h"
#include "broker/keystore/token_keys.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace jitb::keystore {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
namespace fs = std::filesystem;
namespace json = boost::json;

class DataDirImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::SqliteStore::open(dir_.path() + "/broker.db");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  // A CA folder as a broker without a KEK leaves it (bootstrap's own files).
  std::unique_ptr<ca::CertificateAuthority> caFolder(const std::string& name) {
    ca::CaConfig cfg;
    cfg.dir = dir_.path() + "/" + name;
    auto a = ca::CertificateAuthority::bootstrap(cfg, clock_.now());
    EXPECT_TRUE(a.ok());
    return a.ok() ? std::move(*a) : nullptr;
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  // The CA config of the running broker: its own dir is not where the import comes from.
  ca::CaConfig sharedCfg() const {
    ca::CaConfig cfg;
    cfg.dir = dir_.path() + "/unused";
    return cfg;
  }
  static std::vector<std::string> kids(const json::object& jwks) {
    std::vector<std::string> out;
    for (const auto& k : jwks.at("keys").as_array())
      out.emplace_back(k.as_object().at("kid").as_string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string token(jose::Signer& s) {
    int64_t exp = core::unixSeconds(clock_.now()) + 4 * 3600;  // outlives the test's hours
    return *s.sign({{"iss", "https://b"}, {"sub", "x"}, {"exp", exp}});
  }
  bool verifies(TokenKeys& k, const std::string& jwt) {
    auto set = jose::KeySet::fromJson(k.signer().jwks());
    return set.ok() && jose::verifyJwt(jwt, *set, {"https://b", ""}, clock_.now()).ok();
  }

  jitb::testing::TempDir dir_;
  std::unique_ptr<store::SqliteStore> store_;
  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
  std::unique_ptr<Kek> kek_ = FileKek::fromBytes(std::string(32, 'k'), "test").value();
};

TEST_F(DataDirImportTest, CaFolderIsSealedIntoTheStoreWithItsChain) {
  auto folder = caFolder("ca");
  SharedKeys keys(*store_, *kek_);
  ::testing::internal::CaptureStderr();
  auto shared = loadOrCreateCa(keys, sharedCfg(), clock_.now(), path("ca"));
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(shared.ok()) << shared.status().message();
  EXPECT_EQ((*shared)->chainPem(), folder->chainPem());
  EXPECT_TRUE((*shared)->rootKeyOnline());
  EXPECT_NE(log.find("\"keys.imported\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"purpose\":\"ca\""), std::string::npos) << log;
  EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos) << log;
  // A replica with no folder of its own reads the same CA back; the folder is left in place.
  auto replica = loadOrCreateCa(keys, sharedCfg(), clock_.now());
  ASSERT_TRUE(replica.ok());
  EXPECT_EQ((*replica)->chainPem(), folder->chainPem());
  EXPECT_TRUE(fs::exists(path("ca/intermediate.key")));
  // The next start of the importing broker is quiet: the store's CA is the folder's.
  ::testing::internal::CaptureStderr();
  auto again = loadOrCreateCa(keys, sharedCfg(), clock_.now(), path("ca"));
  log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(log.find("keys.import"), std::string::npos) << log;
  EXPECT_EQ(store_->listKeyMaterial(kCaPurpose)->size(), 1u);
}

TEST_F(DataDirImportTest, CaFolderWhoseRootKeyIsOfflineImportsWithoutIt) {
  auto folder = caFolder("ca");
  fs::remove(path("ca/root.key"));
  SharedKeys keys(*store_, *kek_);
  auto shared = loadOrCreateCa(keys, sharedCfg(), clock_.now(), path("ca"));
  ASSERT_TRUE(shared.ok()) << shared.status().message();
  EXPECT_EQ((*shared)->chainPem(), folder->chainPem());
  EXPECT_FALSE((*shared)->rootKeyOnline());
}

TEST_F(DataDirImportTest, PartOfACaIsAnErrorAndNoNewCaIsMade) {
  caFolder("ca");
  fs::remove(path("ca/intermediate.key"));
  SharedKeys keys(*store_, *kek_);
  auto shared = loadOrCreateCa(keys, sharedCfg(), clock_.now(), path("ca"));
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(shared.status().message().find("intermediate.key"), std::string::npos);
  EXPECT_TRUE(store_->listKeyMaterial(kCaPurpose)->empty());
}

TEST_F(DataDirImportTest, AStoredCaStandsAndAnotherFolderCaIsRefused) {
  SharedKeys keys(*store_, *kek_);
  auto stored = loadOrCreateCa(keys, sharedCfg(), clock_.now());
  ASSERT_TRUE(stored.ok());
  caFolder("other");
  ::testing::internal::CaptureStderr();
  auto joined = loadOrCreateCa(keys, sharedCfg(), clock_.now(), path("other"));
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.status().code(), core::Code::kConflict);
  EXPECT_NE(log.find("\"keys.import_conflict\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"purpose\":\"ca\""), std::string::npos) << log;
  auto after = loadOrCreateCa(keys, sharedCfg(), clock_.now());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->chainPem(), (*stored)->chainPem());
}

TEST_F(DataDirImportTest, SshCaKeyFileImportsWithItsPublicLineAndAnotherIsRefused) {
  auto file = ca::SshCa::loadOrCreate(path("ssh_ca.key"), ca::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(file.ok());
  SharedKeys keys(*store_, *kek_);
  // The algorithm asked for is that of a new key; an imported one keeps its own.
  auto shared =
      loadOrCreateSshCa(keys, ca::KeyAlgorithm::kRsa3072, clock_.now(), path("ssh_ca.key"));
  ASSERT_TRUE(shared.ok()) << shared.status().message();
  EXPECT_EQ(shared->publicKeyLine(), file->publicKeyLine());
  auto replica = loadOrCreateSshCa(keys, ca::KeyAlgorithm::kEd25519, clock_.now());
  ASSERT_TRUE(replica.ok());
  EXPECT_EQ(replica->publicKeyLine(), file->publicKeyLine());

  ASSERT_TRUE(ca::SshCa::loadOrCreate(path("other_ssh.key"), ca::KeyAlgorithm::kEd25519).ok());
  auto other =
      loadOrCreateSshCa(keys, ca::KeyAlgorithm::kEd25519, clock_.now(), path("other_ssh.key"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), core::Code::kConflict);
}

TEST_F(DataDirImportTest, EveryTokenKeyVersionImportsAndTheNewestStillSigns) {
  auto file = jose::TokenSigner::loadOrCreate(path("jwt"), clock_.now());
  ASSERT_TRUE(file.ok());
  std::string old_token = token(**file);
  clock_.advance(hours(1));
  ASSERT_TRUE((*file)->rotate(clock_.now()).ok());
  std::string new_token = token(**file);
  ASSERT_EQ(kids((*file)->jwks()).size(), 2u);
  clock_.advance(hours(1));

  SharedKeys keys(*store_, *kek_);
  ::testing::internal::CaptureStderr();
  auto shared = TokenKeys::open(keys, clock_, milliseconds(10'000), path("jwt"));
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(shared.ok()) << shared.status().message();
  EXPECT_EQ(kids((*shared)->signer().jwks()), kids((*file)->jwks()));
  EXPECT_EQ(kids((*shared)->signer().jwks()).size(), 2u);
  EXPECT_EQ((*shared)->signer().kid(), (*file)->kid());
  EXPECT_TRUE(verifies(**shared, old_token));
  EXPECT_TRUE(verifies(**shared, new_token));
  EXPECT_NE(log.find("\"keys.imported\""), std::string::npos) << log;
  EXPECT_NE(log.find((*file)->kid()), std::string::npos) << log;
  // The rows keep the files' times: the newest key was made an hour after the first.
  auto rows = store_->listKeyMaterial(kTokenSigningPurpose);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].created_at - (*rows)[0].created_at, 3'600'000);
  EXPECT_EQ((*rows)[1].active_from, (*rows)[1].created_at);
  // A rotation through the store comes after the imported versions.
  ASSERT_TRUE((*shared)->signer().rotate(clock_.now()).ok());
  EXPECT_EQ(store_->listKeyMaterial(kTokenSigningPurpose)->back().version, 3);
}

TEST_F(DataDirImportTest, StoredTokenKeysStandOverAnotherFolder) {
  SharedKeys keys(*store_, *kek_);
  auto stored = TokenKeys::open(keys, clock_, milliseconds(10'000));
  ASSERT_TRUE(stored.ok());
  std::string stored_kid = (*stored)->signer().kid();
  auto file = jose::TokenSigner::loadOrCreate(path("jwt"), clock_.now());
  ASSERT_TRUE(file.ok());
  ::testing::internal::CaptureStderr();
  auto joined = TokenKeys::open(keys, clock_, milliseconds(10'000), path("jwt"));
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  EXPECT_EQ((*joined)->signer().kid(), stored_kid);
  EXPECT_EQ(kids((*joined)->signer().jwks()), std::vector<std::string>{stored_kid});
  EXPECT_NE(log.find("\"keys.import_skipped\""), std::string::npos) << log;
  EXPECT_NE(log.find((*file)->kid()), std::string::npos) << log;
  EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos) << log;
}

TEST_F(DataDirImportTest, AnImportCutShortIsCompletedByTheNextStart) {
  auto file = jose::TokenSigner::loadOrCreate(path("jwt"), clock_.now());
  ASSERT_TRUE(file.ok());
  clock_.advance(hours(1));
  ASSERT_TRUE((*file)->rotate(clock_.now()).ok());
  // What a start that stopped after version 1 leaves: the oldest key alone in the store.
  auto found = readTokenKeyFolder(path("jwt"));
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 2u);
  SharedKeys keys(*store_, *kek_);
  ASSERT_TRUE(*keys.add(kTokenSigningPurpose, 1, found->front(), *found->front().created_at,
                        *found->front().active_from));
  auto shared = TokenKeys::open(keys, clock_, milliseconds(10'000), path("jwt"));
  ASSERT_TRUE(shared.ok()) << shared.status().message();
  EXPECT_EQ((*shared)->signer().kid(), (*file)->kid());
  EXPECT_EQ(store_->listKeyMaterial(kTokenSigningPurpose)->size(), 2u);
}

TEST_F(DataDirImportTest, NoFolderMakesNewKeysAsBefore) {
  SharedKeys keys(*store_, *kek_);
  auto ca = loadOrCreateCa(keys, sharedCfg(), clock_.now(), path("absent"));
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  auto t = TokenKeys::open(keys, clock_, milliseconds(10'000), path("absent-jwt"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(store_->listKeyMaterial(kTokenSigningPurpose)->size(), 1u);
  EXPECT_FALSE(fs::exists(path("absent")));
}

}  // namespace
}  // namespace jitb::keystore
