#include "broker/server/build_ca.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>

#include "broker/core/files.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/temp_dir.h"

namespace jitb::server {
namespace {

Config configIn(const std::string& dir) {
  Config cfg;
  cfg.data_dir = dir;
  cfg.listen_host = "127.0.0.1";
  cfg.public_url = "https://127.0.0.1:8443";
  return cfg;
}

std::string joined(const ca::CertificateAuthority& a) {
  std::string out;
  for (const auto& pem : a.chainPem()) out += pem;
  return out;
}

TEST(BuildCa, AnEmptyFolderGetsACaAndASecondCallLoadsTheSameOne) {
  jitb::testing::TempDir dir;
  const Config cfg = configIn(dir.path());
  auto first = buildCa(cfg, std::chrono::system_clock::now());
  ASSERT_TRUE(first.ok()) << first.status().message();
  const std::string chain = joined(*first->authority);
  EXPECT_FALSE(chain.empty());

  auto second = buildCa(cfg, std::chrono::system_clock::now());
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(joined(*second->authority), chain);
  EXPECT_EQ(second->tls.cert_file, first->tls.cert_file);
}

// keys.kek_file on SQLite: the CA, SSH CA and signing keys are the store's, and a second broker
// data_dir on the same store file (another replica's view) gets the same ones.
TEST(BuildCa, WithAKekTheCaAndSigningKeysComeFromTheStoreNotDataDir) {
  jitb::testing::TempDir dir;
  std::string kek = dir.path() + "/kek";
  ASSERT_TRUE(core::writeFileAtomic(kek, std::string(32, 'k'), 0600).ok());
  auto store = store::SqliteStore::open(dir.path() + "/broker.db");
  ASSERT_TRUE(store.ok());
  core::SystemClock clock;
  std::string chains[2], kids[2];
  for (int i = 0; i < 2; ++i) {
    Config cfg = configIn(dir.path() + "/var" + std::to_string(i));
    cfg.keys.kek_file = kek;
    auto shared = buildSharedKeyStore(cfg, **store);
    ASSERT_TRUE(shared.ok() && *shared) << shared.status().message();
    auto parts = buildCa(cfg, clock.now(), shared->get());
    ASSERT_TRUE(parts.ok()) << parts.status().message();
    chains[i] = joined(*parts->authority);
    EXPECT_EQ(*core::readFile(parts->client_ca), chains[i]);
    EXPECT_FALSE(core::readFile(cfg.data_dir + "/ca/intermediate.key").ok());
    auto keys = buildKeys(cfg, clock.now(), shared->get(), &clock);
    ASSERT_TRUE(keys.ok()) << keys.status().message();
    kids[i] = keys->signer->kid();
    EXPECT_FALSE(core::readFile(cfg.data_dir + "/jwt").ok());
  }
  EXPECT_EQ(chains[0], chains[1]);
  EXPECT_EQ(kids[0], kids[1]);
  Config loose = configIn(dir.path());
  loose.keys.kek_file = kek;
  ASSERT_EQ(::chmod(kek.c_str(), 0640), 0);
  EXPECT_FALSE(buildSharedKeyStore(loose, **store).ok());
}

TEST(BuildCa, WritesThePublicChainFileAndAServerIdentity) {
  jitb::testing::TempDir dir;
  auto parts = buildCa(configIn(dir.path()), std::chrono::system_clock::now());
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  EXPECT_EQ(parts->client_ca, dir.path() + "/ca/chain.pem");
  auto text = core::readFile(parts->client_ca);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, joined(*parts->authority));
  struct stat st;
  ASSERT_EQ(::stat(parts->client_ca.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);  // public, unlike the rest of data_dir
  EXPECT_TRUE(core::readFile(parts->tls.cert_file).ok());
  EXPECT_TRUE(core::readFile(parts->tls.key_file).ok());
}

TEST(BuildCa, ConfiguredTlsFilesAreUsedAsGiven) {
  jitb::testing::TempDir dir;
  Config cfg = configIn(dir.path());
  cfg.tls = TlsFiles{"/etc/tls/server.pem", "/etc/tls/server.key"};
  auto parts = buildCa(cfg, std::chrono::system_clock::now());
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  EXPECT_EQ(parts->tls.cert_file, "/etc/tls/server.pem");
  EXPECT_EQ(parts->tls.key_file, "/etc/tls/server.key");
}

TEST(BuildCa, AnUnreadableIntermediateFailsNamingTheCa) {
  jitb::testing::TempDir dir;
  Config cfg = configIn(dir.path());
  cfg.ca.intermediate_cert_file = dir.path() + "/absent.pem";
  cfg.ca.intermediate_key_file = dir.path() + "/absent.key";
  auto parts = buildCa(cfg, std::chrono::system_clock::now());
  ASSERT_FALSE(parts.ok());
  EXPECT_EQ(parts.status().message().rfind("CA: ", 0), 0u) << parts.status().message();
}

}  // namespace
}  // namespace jitb::server
