#include "ca/authority.h"

#include <sstream>

#include "tests/unit/ca/fixture.h"

namespace jitb::ca {
namespace {

using testing::sh;
using testing::slurp;

class AuthorityTest : public testing::CaFixture {
 protected:
  std::string verify(const std::string& sub, const std::string& leaf) {
    return sh("openssl verify -CAfile " + (dir_ / (sub + "-root.pem")).string() + " -untrusted " +
              (dir_ / (sub + "-int.pem")).string() + " " + (dir_ / (leaf + ".pem")).string())
        .out;
  }
  std::string text(const std::string& leaf) {
    return sh("openssl x509 -noout -text -in " + (dir_ / (leaf + ".pem")).string()).out;
  }
};

TEST_F(AuthorityTest, OpensslVerifiesLeavesOfEveryProfileAndCaAlgorithm) {
  for (auto [alg, sub] : {std::pair{KeyAlgorithm::kEcP256, "p256"}, {KeyAlgorithm::kEcP384, "p384"},
                          {KeyAlgorithm::kEd25519, "ed25519"}, {KeyAlgorithm::kRsa3072, "rsa"}}) {
    auto ca = makeCa(alg, sub);
    ASSERT_TRUE(ca);
    for (auto [kind, name] : {std::pair{ProfileKind::kClient, "client"},
                              {ProfileKind::kServer, "server"}, {ProfileKind::kSpiffe, "spiffe"}}) {
      std::string leaf = std::string(sub) + "-" + name;
      issueTo(*ca, leaf, kind);
      EXPECT_NE(verify(sub, leaf).find(": OK"), std::string::npos) << leaf << "\n" << verify(sub, leaf);
    }
  }
}

TEST_F(AuthorityTest, LeavesCarryTheRequiredExtensions) {
  auto ca = makeCa();
  issueTo(*ca, "c", ProfileKind::kClient);
  issueTo(*ca, "s", ProfileKind::kServer);
  issueTo(*ca, "v", ProfileKind::kSpiffe);
  std::string c = text("c"), s = text("s"), v = text("v");
  for (const std::string& t : {c, s, v}) {
    EXPECT_NE(t.find("X509v3 Basic Constraints: critical\n                CA:FALSE"), std::string::npos) << t;
    EXPECT_NE(t.find("X509v3 Key Usage: critical\n                Digital Signature"), std::string::npos);
    EXPECT_NE(t.find("X509v3 Subject Key Identifier"), std::string::npos);
    EXPECT_NE(t.find("X509v3 Authority Key Identifier"), std::string::npos);
    EXPECT_NE(t.find("URI:https://broker.test:8443/v1/ca/crl"), std::string::npos);
    EXPECT_NE(t.find("OCSP - URI:https://broker.test:8443/v1/ocsp"), std::string::npos);
  }
  EXPECT_NE(c.find("TLS Web Client Authentication"), std::string::npos);
  EXPECT_EQ(c.find("TLS Web Server Authentication"), std::string::npos);
  EXPECT_NE(c.find("Subject: CN = alice"), std::string::npos);
  EXPECT_NE(s.find("DNS:api.acme.internal, IP Address:127.0.0.1"), std::string::npos) << s;
  EXPECT_NE(s.find("TLS Web Server Authentication"), std::string::npos);
  EXPECT_NE(v.find("X509v3 Subject Alternative Name: critical\n                URI:spiffe://acme.internal/svc/payments"),
            std::string::npos) << v;
  EXPECT_NE(v.find("TLS Web Client Authentication, TLS Web Server Authentication"), std::string::npos);
}

TEST_F(AuthorityTest, ValidityIsBackdatedAndEndsExactlyAtTheProfilesEnd) {
  auto ca = makeCa();
  auto cert = issueTo(*ca, "t", ProfileKind::kClient);
  EXPECT_EQ(cert.not_after, now_ + std::chrono::hours(1));
  EXPECT_EQ(cert.not_before, now_ - std::chrono::seconds(30));
}

TEST_F(AuthorityTest, SerialsArePositiveRandomAndAtLeast64Bits) {
  auto ca = makeCa();
  auto a = issueTo(*ca, "a", ProfileKind::kClient), b = issueTo(*ca, "b", ProfileKind::kClient);
  EXPECT_NE(a.serial_hex, b.serial_hex);
  EXPECT_GE(a.serial_hex.size(), 16u);
  EXPECT_LE(a.serial_hex.size(), 32u);
  std::string out = sh("openssl x509 -noout -serial -in " + (dir_ / "a.pem").string()).out;
  // serial_hex has no leading zero; openssl prints whole octets.
  std::string upper = a.serial_hex.size() % 2 ? "0" + a.serial_hex : a.serial_hex;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_NE(out.find(upper), std::string::npos) << out;
}

TEST_F(AuthorityTest, SerialsSortByIssuanceTimeWithSeventyTwoRandomBits) {
  auto ca = makeCa();
  auto c = Csr::parse(csr("t", "ec -pkeyopt ec_paramgen_curve:P-256"));
  ASSERT_TRUE(c.ok());
  std::vector<std::string> serials;
  for (int ms : {0, 0, 1, 1000, 600'000}) {
    auto cert = ca->issue(*c, profile(ProfileKind::kClient), now_ + std::chrono::milliseconds(ms));
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    serials.push_back(cert->serial_hex);
  }
  for (size_t i = 0; i < serials.size(); ++i) {
    // 0x01, 6 octets of milliseconds, 9 random octets; hex without the leading zero.
    EXPECT_EQ(serials[i].size(), 31u) << serials[i];
    EXPECT_EQ(serials[i][0], '1') << serials[i];
    if (i > 1) {  // [0] and [1] share a millisecond
      EXPECT_LT(serials[i - 1], serials[i]) << i;
    }
  }
  // The same millisecond: the same time prefix, different random tails.
  EXPECT_EQ(serials[0].substr(0, 13), serials[1].substr(0, 13));
  EXPECT_NE(serials[0].substr(13), serials[1].substr(13));
  uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now_.time_since_epoch()).count());
  EXPECT_EQ(std::stoull(serials[0].substr(1, 12), nullptr, 16), ms);
}

TEST_F(AuthorityTest, RestartReloadsTheSameCaWithOwnerOnlyKeys) {
  auto first = makeCa();
  std::string root = first->rootPem();
  first.reset();
  auto again = makeCa();
  EXPECT_EQ(again->rootPem(), root);
  ASSERT_EQ(again->chainPem().size(), 2u);
  for (const char* k : {"root.key", "intermediate.key"})
    EXPECT_EQ(testing::fs::status(dir_ / "ca" / k).permissions() & testing::fs::perms::all,
              testing::fs::perms::owner_read | testing::fs::perms::owner_write)
        << k;
}

TEST_F(AuthorityTest, ServerSideKeysAreReturnedOnceAndMatchTheCertificate) {
  auto ca = makeCa();
  auto r = ca->issueWithServerKey(profile(ProfileKind::kClient), KeyAlgorithm::kEcP256, now_);
  ASSERT_TRUE(r.ok());
  testing::spit(dir_ / "sk.pem", r->certificate.pem);
  testing::spit(dir_ / "sk.key", r->private_key_pem);
  std::string a = sh("openssl x509 -noout -pubkey -in " + (dir_ / "sk.pem").string()).out;
  std::string b = sh("openssl pkey -pubout -in " + (dir_ / "sk.key").string()).out;
  EXPECT_EQ(a, b);
  // Nothing of it was kept in the CA's folder.
  for (const auto& e : testing::fs::directory_iterator(dir_ / "ca"))
    EXPECT_EQ(slurp(e.path()).find(r->private_key_pem.substr(r->private_key_pem.size() / 2, 32)),
              std::string::npos);
}

TEST_F(AuthorityTest, PrintingTheCaOrAKeyShowsNoKeyBytes) {
  auto ca = makeCa();
  std::ostringstream os;
  os << *ca;
  auto key = PrivateKey::generate(KeyAlgorithm::kEcP256);
  os << " " << *key;
  std::string printed = os.str();
  EXPECT_NE(printed.find("CertificateAuthority(EC P-256"), std::string::npos);
  EXPECT_NE(printed.find("redacted"), std::string::npos);
  for (const char* f : {"intermediate.key", "root.key"}) {
    std::string pem = slurp(dir_ / "ca" / f);
    // The middle of the base64 body is key material (the start is a constant ASN.1 prefix).
    EXPECT_EQ(printed.find(pem.substr(pem.size() / 2, 24)), std::string::npos);
  }
  std::string own = key->exportPemForHolder();
  EXPECT_EQ(printed.find(own.substr(own.size() / 2, 24)), std::string::npos);
}

TEST_F(AuthorityTest, BringYourOwnIntermediate) {
  auto generated = makeCa(KeyAlgorithm::kEcP256, "theirs");
  CaConfig cfg;
  cfg.dir = (dir_ / "mine").string();
  cfg.intermediate_cert_file = (dir_ / "theirs" / "intermediate.crt").string();
  cfg.intermediate_key_file = (dir_ / "theirs" / "intermediate.key").string();
  cfg.root_cert_file = (dir_ / "theirs" / "root.crt").string();
  auto ca = CertificateAuthority::bootstrap(cfg, now_);
  ASSERT_TRUE(ca.ok()) << ca.error().message;
  EXPECT_EQ((*ca)->rootPem(), generated->rootPem());
  issueTo(**ca, "byo", ProfileKind::kClient);
  EXPECT_NE(verify("theirs", "byo").find(": OK"), std::string::npos);
  cfg.intermediate_key_file = (dir_ / "byo.key").string();  // a key that does not match
  auto bad = CertificateAuthority::bootstrap(cfg, now_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("does not match"), std::string::npos);
}

TEST_F(AuthorityTest, ProfilesAreValidatedBeforeSigning) {
  auto ca = makeCa();
  auto c = Csr::parse(csr("p"));
  ASSERT_TRUE(c.ok());
  IssuanceProfile p = profile(ProfileKind::kSpiffe);
  for (const char* bad : {"spiffe://Acme/x", "spiffe://acme/", "spiffe://acme/a/../b", "spiffe://acme",
                          "https://acme/x", "spiffe://acme/a?b"}) {
    p.uri_sans = {bad};
    EXPECT_FALSE(ca->issue(*c, p, now_).ok()) << bad;
  }
  p.uri_sans = {"spiffe://acme/a", "spiffe://acme/b"};
  EXPECT_FALSE(ca->issue(*c, p, now_).ok());
  IssuanceProfile s = profile(ProfileKind::kServer);
  s.dns_sans = {"Bad_Name.example"};
  EXPECT_FALSE(ca->issue(*c, s, now_).ok());
  s.dns_sans.clear();
  s.ip_sans.clear();
  EXPECT_FALSE(ca->issue(*c, s, now_).ok());
  IssuanceProfile expired = profile(ProfileKind::kClient);
  expired.not_after = now_ - std::chrono::seconds(1);
  EXPECT_FALSE(ca->issue(*c, expired, now_).ok());
  IssuanceProfile too_long = profile(ProfileKind::kClient);
  too_long.not_after = now_ + std::chrono::hours(24 * 365 * 20);
  EXPECT_FALSE(ca->issue(*c, too_long, now_).ok());
}

}  // namespace
}  // namespace jitb::ca
