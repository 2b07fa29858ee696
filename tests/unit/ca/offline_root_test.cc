// The root key offline: the broker restarts and issues with the intermediate alone, chaining
// to the same root; a CA folder with parts missing is refused rather than replaced.
#include "ca/ca_folder.h"
#include "tests/unit/ca/fixture.h"

namespace jitb::ca {
namespace {

using testing::sh;
using testing::slurp;
using testing::fs::exists;

class OfflineRootTest : public testing::CaFixture {
 protected:
  std::string verify(const std::string& leaf) {
    return sh("openssl verify -CAfile " + (dir_ / "ca-root.pem").string() + " -untrusted " +
              (dir_ / "ca-int.pem").string() + " " + (dir_ / (leaf + ".pem")).string())
        .out;
  }
  std::string caDir() const { return (dir_ / "ca").string(); }
};

TEST_F(OfflineRootTest, BootstrapWithoutTheRootKeyKeepsTheSameRootAndIssues) {
  auto first = makeCa();
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->rootKeyOnline());
  const std::string root = first->rootPem(), inter = first->chainPem()[0];
  const std::string root_crt = slurp(dir_ / "ca" / "root.crt");
  first.reset();

  auto moved = moveRootKeyOffline(caDir(), (dir_ / "root-offline.key").string());
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_FALSE(exists(dir_ / "ca" / "root.key"));

  auto again = makeCa();  // writes ca-root.pem / ca-int.pem from the restarted CA
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->rootKeyOnline());
  EXPECT_EQ(again->rootPem(), root);
  EXPECT_EQ(again->chainPem()[0], inter);
  EXPECT_EQ(slurp(dir_ / "ca" / "root.crt"), root_crt);  // no new root written
  EXPECT_FALSE(exists(dir_ / "ca" / "root.key"));        // nor a new root key
  issueTo(*again, "leaf", ProfileKind::kClient);
  EXPECT_NE(verify("leaf").find(": OK"), std::string::npos) << verify("leaf");
  auto crl = again->buildCrlDer({}, 1, now_, std::chrono::hours(1));
  EXPECT_TRUE(crl.ok());
}

TEST_F(OfflineRootTest, TheCopyIsOwnerOnlyIdenticalAndNeverOverwritten) {
  ASSERT_TRUE(makeCa());
  const std::string key = slurp(dir_ / "ca" / "root.key");
  const auto out = dir_ / "root-offline.key";
  testing::spit(out, "precious");
  auto refused = moveRootKeyOffline(caDir(), out.string());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("not overwriting"), std::string::npos);
  EXPECT_EQ(slurp(out), "precious");
  EXPECT_TRUE(exists(dir_ / "ca" / "root.key"));

  // Into the CA folder itself is no move at all.
  auto inside = moveRootKeyOffline(caDir(), (dir_ / "ca" / "copy.key").string());
  ASSERT_FALSE(inside.ok());
  EXPECT_NE(inside.error().message.find("outside the CA folder"), std::string::npos);
  EXPECT_FALSE(exists(dir_ / "ca" / "copy.key"));

  testing::fs::remove(out);
  ASSERT_TRUE(moveRootKeyOffline(caDir(), out.string()).ok());
  EXPECT_EQ(slurp(out), key);
  EXPECT_EQ(testing::fs::status(out).permissions() & testing::fs::perms::all,
            testing::fs::perms::owner_read | testing::fs::perms::owner_write);
  // A second run finds nothing to move.
  auto again = moveRootKeyOffline(caDir(), (dir_ / "other.key").string());
  EXPECT_FALSE(again.ok());
  EXPECT_FALSE(exists(dir_ / "other.key"));
}

TEST_F(OfflineRootTest, RefusesToMoveTheRootOfAnIncompleteCa) {
  ASSERT_TRUE(makeCa());
  testing::fs::remove(dir_ / "ca" / "intermediate.key");
  auto r = moveRootKeyOffline(caDir(), (dir_ / "root-offline.key").string());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(exists(dir_ / "ca" / "root.key"));
  EXPECT_FALSE(exists(dir_ / "root-offline.key"));
}

// Before: a folder with root.crt but no intermediate key counted as a first start, and a new
// root silently replaced the trust anchor every client holds.
TEST_F(OfflineRootTest, APartialCaFolderIsRefusedNotReplaced) {
  ASSERT_TRUE(makeCa());
  const std::string root_crt = slurp(dir_ / "ca" / "root.crt");
  testing::fs::remove(dir_ / "ca" / "root.key");
  testing::fs::remove(dir_ / "ca" / "intermediate.key");
  CaConfig cfg;
  cfg.dir = caDir();
  auto ca = CertificateAuthority::bootstrap(cfg, now_);
  ASSERT_FALSE(ca.ok());
  EXPECT_NE(ca.error().message.find("lacks"), std::string::npos) << ca.error().message;
  EXPECT_NE(ca.error().message.find("intermediate.key"), std::string::npos);
  EXPECT_EQ(slurp(dir_ / "ca" / "root.crt"), root_crt);
  EXPECT_FALSE(exists(dir_ / "ca" / "root.key"));
}

TEST_F(OfflineRootTest, StatusReportsTheKeysAndTheIntermediatesExpiry) {
  ASSERT_TRUE(makeCa());
  auto st = inspectCaFolder(caDir());
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->root_key && st->root_cert && st->intermediate_cert && st->intermediate_key);
  EXPECT_EQ(st->intermediate_subject, "CN=jitbroker issuing CA");
  auto days =
      std::chrono::duration_cast<std::chrono::hours>(st->intermediate_not_after - now_).count() /
      24;
  EXPECT_EQ(days, 1825);
  ASSERT_TRUE(moveRootKeyOffline(caDir(), (dir_ / "r.key").string()).ok());
  EXPECT_FALSE(inspectCaFolder(caDir())->root_key);
  EXPECT_FALSE(inspectCaFolder((dir_ / "nope").string()).ok());
}

// Bringing the root back for one job: a new intermediate under the same root, which the next
// start issues with; leaves chain to the same root.
TEST_F(OfflineRootTest, RenewIntermediateWithTheOfflineRootKeepsTheRoot) {
  auto first = makeCa(KeyAlgorithm::kEcP384);
  ASSERT_TRUE(first);
  const std::string root = first->rootPem(), old_int = first->chainPem()[0];
  first.reset();
  const auto offline = dir_ / "root-offline.key";
  ASSERT_TRUE(moveRootKeyOffline(caDir(), offline.string()).ok());

  // Someone else's root key is refused and changes nothing.
  {
    CaConfig other;
    other.dir = (dir_ / "other").string();
    ASSERT_TRUE(CertificateAuthority::bootstrap(other, now_).ok());
    auto wrong = renewIntermediate(caDir(), (dir_ / "other" / "root.key").string(), now_);
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().message.find("is not the key of"), std::string::npos);
  }
  EXPECT_EQ(slurp(dir_ / "ca" / "intermediate.crt"), old_int);

  auto renewed = renewIntermediate(caDir(), offline.string(), now_);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_EQ(renewed->subject, "CN=jitbroker issuing CA");
  EXPECT_EQ(renewed->not_after, now_ + std::chrono::hours(24 * 1825));
  EXPECT_EQ(slurp(dir_ / "ca" / ("intermediate.crt" + renewed->replaced)), old_int);
  EXPECT_TRUE(exists(dir_ / "ca" / ("intermediate.key" + renewed->replaced)));
  EXPECT_FALSE(exists(dir_ / "ca" / "root.key"));
  EXPECT_EQ(
      testing::fs::status(dir_ / "ca" / "intermediate.key").permissions() & testing::fs::perms::all,
      testing::fs::perms::owner_read | testing::fs::perms::owner_write);

  auto again = makeCa();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rootPem(), root);
  EXPECT_NE(again->chainPem()[0], old_int);
  EXPECT_NE(again->describe().find("P-384"), std::string::npos) << again->describe();
  issueTo(*again, "renewed-leaf", ProfileKind::kServer);
  EXPECT_NE(verify("renewed-leaf").find(": OK"), std::string::npos) << verify("renewed-leaf");
}

}  // namespace
}  // namespace jitb::ca
