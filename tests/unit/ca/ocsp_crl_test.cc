// CRL and OCSP checked with the openssl command line, and a real TLS handshake that a CRL
// stops.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "tests/unit/ca/fixture.h"

namespace jitb::ca {
namespace {

using testing::sh;
using testing::slurp;
using testing::spit;

class OcspCrlTest : public testing::CaFixture {
 protected:
  void SetUp() override {
    CaFixture::SetUp();
    ca_ = makeCa();
    spit(dir_ / "chain.pem", ca_->chainPem()[0] + ca_->chainPem()[1]);
  }
  // `nonce` false: a request without a nonce, so that the CLI's own second request (built
  // from -issuer/-cert when reading -respin) need not match one.
  std::string ocspStatus(const std::string& leaf, bool nonce = false) {
    std::string req = (dir_ / (leaf + ".req")).string();
    const char* no_nonce = nonce ? "" : " -no_nonce";
    sh("openssl ocsp -issuer " + (dir_ / "ca-int.pem").string() + " -cert " +
       (dir_ / (leaf + ".pem")).string() + no_nonce + " -reqout " + req);
    OcspAnswer a = ca_->respondOcsp(slurp(req), [&](const std::string& serial) {
      auto it = status_.find(serial);
      return it == status_.end() ? CertStatus{} : it->second;
    }, now_, std::chrono::hours(1));
    EXPECT_FALSE(a.malformed);
    spit(dir_ / (leaf + ".resp"), a.response_der);
    return sh("openssl ocsp -respin " + (dir_ / (leaf + ".resp")).string() + " -issuer " +
              (dir_ / "ca-int.pem").string() + " -cert " + (dir_ / (leaf + ".pem")).string() +
              " -CAfile " + (dir_ / "ca-root.pem").string() + no_nonce)
        .out;
  }
  std::unique_ptr<CertificateAuthority> ca_;
  std::map<std::string, CertStatus> status_;
};

TEST_F(OcspCrlTest, OcspSaysGoodThenRevokedThenUnknown) {
  auto leaf = issueTo(*ca_, "leaf", ProfileKind::kClient);
  status_[leaf.serial_hex] = {CertState::kGood};
  std::string good = ocspStatus("leaf");
  EXPECT_NE(good.find("Response verify OK"), std::string::npos) << good;
  EXPECT_NE(good.find("leaf.pem: good"), std::string::npos) << good;
  EXPECT_NE(good.find("Next Update"), std::string::npos);
  status_[leaf.serial_hex] = {CertState::kRevoked, now_ - std::chrono::seconds(5),
                              RevocationReason::kCessationOfOperation};
  std::string revoked = ocspStatus("leaf");
  EXPECT_NE(revoked.find("leaf.pem: revoked"), std::string::npos) << revoked;
  EXPECT_NE(revoked.find("cessationOfOperation"), std::string::npos) << revoked;
  status_.clear();
  EXPECT_NE(ocspStatus("leaf").find("leaf.pem: unknown"), std::string::npos);
}

TEST_F(OcspCrlTest, NonceIsEchoed) {
  auto leaf = issueTo(*ca_, "n", ProfileKind::kClient);
  status_[leaf.serial_hex] = {CertState::kGood};
  ocspStatus("n", true);
  std::string req_text = sh("openssl ocsp -reqin " + (dir_ / "n.req").string() + " -req_text").out;
  std::string text = sh("openssl ocsp -respin " + (dir_ / "n.resp").string() + " -resp_text -noverify").out;
  // The response carries the request's nonce value.
  size_t at = req_text.find("OCSP Nonce:");
  ASSERT_NE(at, std::string::npos) << req_text;
  std::string value = req_text.substr(req_text.find('\n', at) + 1, 40);
  value = value.substr(value.find_first_not_of(' '));
  value = value.substr(0, value.find('\n'));
  EXPECT_NE(text.find("OCSP Nonce"), std::string::npos) << text;
  EXPECT_NE(text.find(value), std::string::npos) << value << "\n" << text;
}

TEST_F(OcspCrlTest, MalformedRequestsGetMalformedRequestNeverACrash) {
  for (const std::string& bad : {std::string(), std::string("garbage"), std::string(2000, '\x30'),
                                std::string("\x30\x03\x02\x01\x00", 5)}) {
    OcspAnswer a = ca_->respondOcsp(bad, [](const std::string&) { return CertStatus{}; }, now_,
                                    std::chrono::hours(1));
    EXPECT_TRUE(a.malformed);
    spit(dir_ / "m.resp", a.response_der);
    std::string text = sh("openssl ocsp -respin " + (dir_ / "m.resp").string() + " -resp_text -noverify").out;
    EXPECT_NE(text.find("malformedrequest"), std::string::npos) << text;
  }
}

TEST_F(OcspCrlTest, CrlListsRevokedSerialsWithReasonsAndNumber) {
  auto a = issueTo(*ca_, "a", ProfileKind::kClient), b = issueTo(*ca_, "b", ProfileKind::kClient);
  auto crl = ca_->buildCrlDer({{a.serial_hex, now_, RevocationReason::kPrivilegeWithdrawn},
                               {b.serial_hex, now_, RevocationReason::kUnspecified}},
                              42, now_, std::chrono::hours(1));
  ASSERT_TRUE(crl.ok());
  spit(dir_ / "crl.pem", derToPem(*crl, "X509 CRL"));
  std::string text = sh("openssl crl -noout -text -in " + (dir_ / "crl.pem").string()).out;
  std::string upper = a.serial_hex.size() % 2 ? "0" + a.serial_hex : a.serial_hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_NE(text.find("Version 2"), std::string::npos) << text;
  EXPECT_NE(text.find(upper), std::string::npos) << text;
  EXPECT_NE(text.find("Privilege Withdrawn"), std::string::npos);
  EXPECT_NE(text.find("X509v3 CRL Number: \n                42"), std::string::npos) << text;
  EXPECT_NE(text.find("X509v3 Authority Key Identifier"), std::string::npos);
  EXPECT_NE(text.find("Next Update"), std::string::npos);
  EXPECT_EQ(sh("openssl crl -noout -in " + (dir_ / "crl.pem").string() + " -CAfile " +
               (dir_ / "chain.pem").string()).code, 0);
  auto empty = ca_->buildCrlDer({}, 43, now_, std::chrono::hours(1));
  spit(dir_ / "empty.pem", derToPem(*empty, "X509 CRL"));
  EXPECT_NE(sh("openssl crl -noout -text -in " + (dir_ / "empty.pem").string()).out.find("No Revoked Certificates"),
            std::string::npos);
}

int freePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

TEST_F(OcspCrlTest, TlsHandshakeWithIssuedCertsAndTheCrlStopsARevokedClient) {
  issueTo(*ca_, "server", ProfileKind::kServer);
  auto client = issueTo(*ca_, "client", ProfileKind::kClient);
  auto handshake = [&](const std::string& crl_args) {
    int port = freePort();
    std::string d = dir_.string();
    std::string server = "timeout 10 openssl s_server -accept 127.0.0.1:" + std::to_string(port) +
                         " -cert " + d + "/server.pem -key " + d + "/server.key -CAfile " + d +
                         "/chain.pem -Verify 2 -verify_return_error -naccept 1 -quiet " + crl_args +
                         " > " + d + "/s_server.log 2>&1 &";
    sh(server);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    return sh("echo | timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
              " -cert " + d + "/client.pem -key " + d + "/client.key -CAfile " + d +
              "/chain.pem -verify_return_error -servername api.acme.internal -brief");
  };
  auto ok = handshake("");
  EXPECT_NE(ok.out.find("CONNECTION ESTABLISHED"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("Verification: OK"), std::string::npos) << ok.out;

  auto crl = ca_->buildCrlDer({{client.serial_hex, now_, RevocationReason::kCessationOfOperation}},
                              1, now_, std::chrono::hours(1));
  spit(dir_ / "crl.pem", derToPem(*crl, "X509 CRL"));
  auto refused = handshake("-crl_check -CRL " + (dir_ / "crl.pem").string());
  std::string log = slurp(dir_ / "s_server.log");
  EXPECT_EQ(refused.out.find("Verification: OK\n") != std::string::npos &&
                log.find("revoked") == std::string::npos,
            false)
      << refused.out << log;
  EXPECT_NE(log.find("certificate revoked"), std::string::npos) << log;
}

}  // namespace
}  // namespace jitb::ca
