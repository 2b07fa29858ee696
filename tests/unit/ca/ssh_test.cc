// The SSH CA checked by the real OpenSSH tools: every certificate must parse with
// `ssh-keygen -L`, and every KRL must answer `ssh-keygen -Q` as sshd would.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "ca/ssh_ca.h"
#include "ca/ssh_key.h"
#include "ca/ssh_krl.h"
#include "ca/ssh_wire.h"
#include "fixture.h"
#include "tests/support/temp_dir.h"

namespace jitb::ca {
namespace {

using ::jitb::ca::testing::sh;
using ::jitb::ca::testing::slurp;
using ::jitb::ca::testing::spit;
using std::chrono::seconds;
using std::chrono::system_clock;

class SshCaTest : public ::testing::Test {
 protected:
  std::string dir() const { return tmp_.path(); }
  // A user key made by ssh-keygen; returns its public key line.
  std::string userKey(const std::string& name, const std::string& type, int bits = 0) {
    std::string f = dir() + "/" + name;
    std::string b = bits ? " -b " + std::to_string(bits) : "";
    auto r = sh("ssh-keygen -q -t " + type + b + " -N '' -C test -f " + f);
    EXPECT_EQ(r.code, 0) << r.out;
    return slurp(f + ".pub");
  }
  SshCa ca(KeyAlgorithm a = KeyAlgorithm::kEd25519) {
    auto c = SshCa::loadOrCreate(dir() + "/ssh_ca.key", a);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return std::move(*c);
  }
  SshUserCertRequest request(const std::string& pub_line) {
    SshUserCertRequest r;
    auto k = parseSshPublicKey(pub_line);
    EXPECT_TRUE(k.ok()) << (k.ok() ? "" : k.error().message);
    r.key = *k;
    r.serial = 0x8000000000000001ULL;
    r.key_id = "lease-abc";
    r.principals = {"root", "alice"};
    r.valid_before = now_ + std::chrono::minutes(30);
    r.extensions = {"permit-pty"};
    return r;
  }
  std::string writeCert(const SshCertificate& c, const std::string& name) {
    std::string f = dir() + "/" + name + "-cert.pub";
    spit(f, c.line + "\n");
    return f;
  }

  jitb::testing::TempDir tmp_;
  system_clock::time_point now_ = system_clock::now();
};

TEST_F(SshCaTest, EachUserKeyTypeMakesACertificateSshKeygenReads) {
  SshCa c = ca();
  for (auto [type, bits] : {std::pair<std::string, int>{"ed25519", 0}, {"ecdsa", 256}, {"rsa", 3072}}) {
    std::string pub = userKey("id_" + type, type, bits);
    auto cert = c.signUser(request(pub), now_);
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    auto out = sh("ssh-keygen -L -f " + writeCert(*cert, "id_" + type));
    ASSERT_EQ(out.code, 0) << type << ": " << out.out;
    EXPECT_NE(out.out.find("user certificate"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("Key ID: \"lease-abc\""), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("Serial: 9223372036854775809"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("Signing CA: ED25519"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("permit-pty"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("                root\n                alice\n"), std::string::npos)
        << out.out;
  }
}

TEST_F(SshCaTest, RsaCaSignsWithRsaSha512) {
  SshCa c = ca(KeyAlgorithm::kRsa3072);
  auto cert = c.signUser(request(userKey("id", "ed25519")), now_);
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  auto out = sh("ssh-keygen -L -f " + writeCert(*cert, "id"));
  ASSERT_EQ(out.code, 0) << out.out;
  EXPECT_NE(out.out.find("Signing CA: RSA"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("(using rsa-sha2-512)"), std::string::npos) << out.out;
}

TEST_F(SshCaTest, CriticalOptionsAreStringsInsideTheDataString) {
  SshCa c = ca();
  auto req = request(userKey("id", "ed25519"));
  // Given out of order on purpose: the encoder sorts them.
  req.critical_options = {{"source-address", "127.0.0.1/32,10.0.0.0/8"},
                          {"force-command", "/usr/bin/id -un"}};
  req.extensions = {"permit-pty", "permit-agent-forwarding"};
  auto cert = c.signUser(req, now_);
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  auto out = sh("ssh-keygen -L -f " + writeCert(*cert, "id"));
  ASSERT_EQ(out.code, 0) << out.out;
  EXPECT_NE(out.out.find("force-command /usr/bin/id -un"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("source-address 127.0.0.1/32,10.0.0.0/8"), std::string::npos) << out.out;
  EXPECT_LT(out.out.find("force-command"), out.out.find("source-address"));
  EXPECT_LT(out.out.find("permit-agent-forwarding"), out.out.find("permit-pty"));
}

TEST_F(SshCaTest, ValidityIsBackdatedAndEndsWhereAsked) {
  SshCa c = ca();
  auto req = request(userKey("id", "ed25519"));
  auto cert = c.signUser(req, now_);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(std::chrono::floor<seconds>(now_ - seconds(60)), cert->valid_after);
  EXPECT_EQ(std::chrono::floor<seconds>(req.valid_before), cert->valid_before);
}

TEST_F(SshCaTest, RefusesEmptyPrincipalsDuplicatesAndNoValidity) {
  SshCa c = ca();
  auto req = request(userKey("id", "ed25519"));
  auto empty = req;
  empty.principals.clear();
  EXPECT_FALSE(c.signUser(empty, now_).ok());
  auto comma = req;
  comma.principals = {"a,b"};
  EXPECT_FALSE(c.signUser(comma, now_).ok());
  auto dup = req;
  dup.extensions = {"permit-pty", "permit-pty"};
  EXPECT_FALSE(c.signUser(dup, now_).ok());
  auto past = req;
  past.valid_before = now_ - seconds(1);
  EXPECT_FALSE(c.signUser(past, now_).ok());
}

TEST_F(SshCaTest, CaKeyIsCreatedOnceWith0600AndReloaded) {
  SshCa first = ca();
  struct stat st {};
  ASSERT_EQ(::stat((dir() + "/ssh_ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  SshCa second = ca();
  EXPECT_EQ(first.publicKeyBlob(), second.publicKeyBlob());
  // The public line is what ssh-keygen derives from the private key file.
  spit(dir() + "/ca.pub", first.publicKeyLine() + "\n");
  auto fp = sh("ssh-keygen -l -f " + dir() + "/ca.pub");
  EXPECT_EQ(fp.code, 0) << fp.out;
  EXPECT_NE(fp.out.find("ED25519"), std::string::npos) << fp.out;
}

TEST(SshPublicKeyTest, RefusesWhatACertificateMustNotCarry) {
  jitb::testing::TempDir tmp;
  auto gen = [&](const std::string& t, int bits) {
    std::string f = tmp.path() + "/k" + t + std::to_string(bits);
    sh("ssh-keygen -q -t " + t + (bits ? " -b " + std::to_string(bits) : "") + " -N '' -f " + f);
    return slurp(f + ".pub");
  };
  EXPECT_TRUE(parseSshPublicKey(gen("rsa", 3072)).ok());
  auto rsa2048 = parseSshPublicKey(gen("rsa", 2048));
  ASSERT_FALSE(rsa2048.ok());
  EXPECT_NE(rsa2048.error().message.find("3072"), std::string::npos);
  EXPECT_FALSE(parseSshPublicKey(gen("ecdsa", 384)).ok());
  EXPECT_FALSE(parseSshPublicKey(gen("ecdsa", 521)).ok());
  std::string ed = gen("ed25519", 0);
  EXPECT_TRUE(parseSshPublicKey(ed).ok());
  EXPECT_FALSE(parseSshPublicKey("").ok());
  EXPECT_FALSE(parseSshPublicKey("ssh-ed25519").ok());
  EXPECT_FALSE(parseSshPublicKey("ssh-ed25519 !!!!").ok());
  EXPECT_FALSE(parseSshPublicKey("ssh-rsa" + ed.substr(ed.find(' '))).ok());  // type mismatch
  // A truncated blob and one with trailing bytes.
  sshwire::Writer w;
  w.string("ssh-ed25519");
  w.string(std::string(31, 'x'));
  EXPECT_FALSE(parseSshPublicKeyBlob(w.bytes()).ok());
  sshwire::Writer t;
  t.string("ssh-ed25519");
  t.string(std::string(32, 'x'));
  EXPECT_TRUE(parseSshPublicKeyBlob(t.bytes()).ok());
  t.u8(0);
  EXPECT_FALSE(parseSshPublicKeyBlob(t.bytes()).ok());
  // A point that is not on the curve.
  sshwire::Writer ec;
  ec.string("ecdsa-sha2-nistp256");
  ec.string("nistp256");
  ec.string(std::string(1, '\x04') + std::string(64, '\x01'));
  EXPECT_FALSE(parseSshPublicKeyBlob(ec.bytes()).ok());
  // A certificate is not a key.
  EXPECT_FALSE(parseSshPublicKey("ssh-ed25519-cert-v01@openssh.com AAAA").ok());
}

class SshKrlTest : public SshCaTest {
 protected:
  std::string writeKrl(const SshCa& c, std::vector<RevokedSshSerial> revoked) {
    KrlContents k{c.publicKeyBlob(), ++version_, now_, std::move(revoked), "test"};
    std::string f = dir() + "/revoked.krl";
    spit(f, encodeKrl(k));
    return f;
  }
  // ssh-keygen -Q exits 1 and prints REVOKED for a revoked certificate, 0 otherwise.
  bool revoked(const std::string& krl, const std::string& cert) {
    auto r = sh("ssh-keygen -Q -f " + krl + " " + cert);
    EXPECT_TRUE(r.code == 0 || r.code == 1) << r.out;
    EXPECT_EQ(r.code == 1, r.out.find("REVOKED") != std::string::npos) << r.out;
    return r.code == 1;
  }
  uint64_t version_ = 0;
};

TEST_F(SshKrlTest, SshKeygenFindsRevokedSerialsInListsAndRanges) {
  SshCa c = ca();
  std::string pub = userKey("id", "ed25519");
  auto certFor = [&](uint64_t serial) {
    auto req = request(pub);
    req.serial = serial;
    auto cert = c.signUser(req, now_);
    EXPECT_TRUE(cert.ok());
    return writeCert(*cert, "s" + std::to_string(serial));
  };
  auto until = now_ + std::chrono::hours(1);
  // 10..14 becomes a range, 7 and 42 a list.
  std::string krl = writeKrl(c, {{42, until}, {7, until}, {10, until}, {11, until}, {12, until},
                                 {13, until}, {14, until}});
  EXPECT_TRUE(revoked(krl, certFor(42)));
  EXPECT_TRUE(revoked(krl, certFor(7)));
  EXPECT_TRUE(revoked(krl, certFor(12)));
  EXPECT_TRUE(revoked(krl, certFor(14)));
  EXPECT_FALSE(revoked(krl, certFor(15)));
  EXPECT_FALSE(revoked(krl, certFor(9)));
  auto shown = sh("ssh-keygen -Q -l -f " + krl);
  EXPECT_NE(shown.out.find("serial: 10-14"), std::string::npos) << shown.out;
}

TEST_F(SshKrlTest, AnEmptyKrlRevokesNothingAndOtherCasSerialsAreNotOurs) {
  SshCa c = ca();
  auto cert = c.signUser(request(userKey("id", "ed25519")), now_);
  ASSERT_TRUE(cert.ok());
  std::string f = writeCert(*cert, "id");
  EXPECT_FALSE(revoked(writeKrl(c, {}), f));
  // The same serial under another CA's key does not revoke this certificate.
  jitb::testing::TempDir other;
  auto other_ca = SshCa::loadOrCreate(other.path() + "/k", KeyAlgorithm::kEd25519);
  ASSERT_TRUE(other_ca.ok());
  EXPECT_FALSE(revoked(writeKrl(*other_ca, {{0x8000000000000001ULL, now_ + seconds(600)}}), f));
  EXPECT_TRUE(revoked(writeKrl(c, {{0x8000000000000001ULL, now_ + seconds(600)}}), f));
}

TEST(SshKrlPruneTest, ExpiredZeroAndDuplicateSerialsAreDropped) {
  auto now = system_clock::now();
  auto live = liveSerials({{5, now + seconds(1)}, {3, now - seconds(1)}, {0, now + seconds(9)},
                           {5, now + seconds(2)}, {4, now}, {1, now + seconds(60)}},
                          now);
  EXPECT_EQ(live, (std::vector<uint64_t>{1, 5}));
  KrlContents k{"ca", 7, now, {{9, now - seconds(1)}}, ""};
  // Only the header is left when every serial has expired: 8+4+8+8+8+4+4 bytes.
  EXPECT_EQ(encodeKrl(k).size(), 44u);
}

}  // namespace
}  // namespace jitb::ca
