#include "ca/csr.h"

#include "tests/unit/ca/fixture.h"

namespace jitb::ca {
namespace {

using testing::sh;

class CsrTest : public testing::CaFixture {
 protected:
  Error refused(const std::string& csr_text) {
    auto c = Csr::parse(csr_text);
    EXPECT_FALSE(c.ok());
    return c.ok() ? Error{ErrorCode::kInternal, ""} : c.error();
  }
};

TEST_F(CsrTest, ParsesPemAndDerAndReadsTheRequestedNames) {
  std::string pem = csr("n", "ec -pkeyopt ec_paramgen_curve:P-256", "/CN=api.acme.internal",
                        "subjectAltName=DNS:api.acme.internal,URI:spiffe://acme/x,IP:10.1.2.3");
  auto c = Csr::parse(pem);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->commonName(), "api.acme.internal");
  EXPECT_EQ(c->dnsNames(), std::vector<std::string>{"api.acme.internal"});
  EXPECT_EQ(c->uris(), std::vector<std::string>{"spiffe://acme/x"});
  EXPECT_EQ(c->ips(), std::vector<std::string>{"10.1.2.3"});
  sh("openssl req -in " + (dir_ / "n.csr").string() + " -outform DER -out " + (dir_ / "n.der").string());
  EXPECT_TRUE(Csr::parse(testing::slurp(dir_ / "n.der")).ok());
}

TEST_F(CsrTest, AllowedKeyTypes) {
  for (const char* key : {"ec -pkeyopt ec_paramgen_curve:P-384", "ed25519", "rsa:2048"})
    EXPECT_TRUE(Csr::parse(csr("k", key)).ok()) << key;
}

TEST_F(CsrTest, RefusesWeakOrUnknownKeysNamingThem) {
  EXPECT_NE(refused(csr("r", "rsa:1024")).message.find("RSA-1024"), std::string::npos);
  EXPECT_NE(refused(csr("p", "ec -pkeyopt ec_paramgen_curve:prime192v1")).message.find("prime192v1"),
            std::string::npos);
}

TEST_F(CsrTest, RefusesABadSelfSignature) {
  csr("b");
  sh("openssl req -in " + (dir_ / "b.csr").string() + " -outform DER -out " + (dir_ / "b.der").string());
  std::string der = testing::slurp(dir_ / "b.der");
  der[der.size() - 3] ^= 0x01;  // inside the signature
  Error e = refused(der);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(e.message.find("signature"), std::string::npos);
}

TEST_F(CsrTest, RefusesCaRequestsOddExtensionsAndEmailNames) {
  EXPECT_NE(refused(csr("ca", "ec -pkeyopt ec_paramgen_curve:P-256", "/",
                        "basicConstraints=critical,CA:TRUE"))
                .message.find("CA certificate"),
            std::string::npos);
  EXPECT_NE(refused(csr("odd", "ec -pkeyopt ec_paramgen_curve:P-256", "/", "nsComment=hello"))
                .message.find("not allowed"),
            std::string::npos);
  EXPECT_NE(refused(csr("em", "ec -pkeyopt ec_paramgen_curve:P-256", "/",
                        "subjectAltName=email:a@example.com"))
                .message.find("a@example.com"),
            std::string::npos);
}

TEST_F(CsrTest, RefusesGarbage) {
  for (const std::string& g : {std::string(), std::string("hello"), std::string("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
                              std::string(300, '\x30')})
    EXPECT_EQ(refused(g).code, ErrorCode::kInvalidArgument);
}

TEST_F(CsrTest, NamesOutsideTheProfileAreRefusedByName) {
  auto ca = makeCa();
  auto c = Csr::parse(csr("x", "ec -pkeyopt ec_paramgen_curve:P-256", "/",
                          "subjectAltName=DNS:evil.example"));
  ASSERT_TRUE(c.ok());
  auto r = ca->issue(*c, profile(ProfileKind::kClient), now_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("evil.example"), std::string::npos);
  auto cn = Csr::parse(csr("cn", "ec -pkeyopt ec_paramgen_curve:P-256", "/CN=root"));
  auto r2 = ca->issue(*cn, profile(ProfileKind::kClient), now_);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message.find("'root'"), std::string::npos);
  // The same names as the profile are fine.
  auto ok = Csr::parse(csr("ok", "ec -pkeyopt ec_paramgen_curve:P-256", "/CN=api.acme.internal",
                           "subjectAltName=DNS:api.acme.internal"));
  EXPECT_TRUE(ca->issue(*ok, profile(ProfileKind::kServer), now_).ok());
}

}  // namespace
}  // namespace jitb::ca
