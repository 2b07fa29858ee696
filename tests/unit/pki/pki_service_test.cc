// The broker's CRL and OCSP service against a mock CA and a mock store: which leases become CRL
// entries, when the CRL is signed again, what OCSP is told of each serial, and how store and CA
// failures reach HTTP.
#include "broker/pki/pki_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ocsp.h>

#include <boost/json.hpp>

#include "broker/core/encoding.h"
#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_signing_authority.h"
#include "tests/support/mocks/mock_store.h"

namespace jitb::pki {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Return;
using ::testing::ReturnRef;
using ::testing::StrictMock;
using ::testing::AllOf;

const core::TimePoint kStart = std::chrono::system_clock::from_time_t(1795456800);
constexpr std::chrono::seconds kNextUpdate = 1h;

int64_t ms(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

store::LeaseRow certLease(std::string serial, store::LeaseState state, std::string reason = "",
                          int64_t ended_at = 0) {
  store::LeaseRow l;
  l.id = "lease-" + serial;
  l.kind = store::LeaseKind::kCertificate;
  l.serial = std::move(serial);
  l.state = state;
  l.reason = std::move(reason);
  l.ended_at = ended_at;
  return l;
}

class PkiServiceTest : public ::testing::Test {
 protected:
  PkiServiceTest() { pki_.addRoutes(router_); }

  http::Response call(const std::string& method, const std::string& target, std::string body = "") {
    http::Request req;
    req.method = method;
    EXPECT_TRUE(http::parseTarget(target, req).ok()) << target;
    req.body = std::move(body);
    std::string route;
    return router_.dispatch(req, route);
  }
  std::string metrics() { return metrics_.render(); }
  // The store answers one CRL build: these revoked certificates, this CRL number.
  void storeHas(std::vector<store::LeaseRow> revoked, int64_t number) {
    EXPECT_CALL(store_, revokedUnexpiredCertificates(ms(clock_.now()))).WillOnce(Return(revoked));
    EXPECT_CALL(store_, nextCounter("crl_number")).WillOnce(Return(number));
  }

  core::FakeClock clock_{kStart};
  StrictMock<testing::MockSigningAuthority> ca_;
  StrictMock<testing::MockStore> store_;
  metrics::Registry metrics_;
  PkiService pki_{ca_, store_, clock_, metrics_, kNextUpdate, "https://broker.test"};
  http::Router router_;
};

TEST_F(PkiServiceTest, CrlListsTheRevokedCertificatesWithTheirTimeReasonAndTheNextNumber) {
  const int64_t t1 = ms(kStart) - 5000, t2 = ms(kStart) - 1000;
  storeHas({certLease("0a", store::LeaseState::kRevoked, "admin", t1),
            certLease("0b", store::LeaseState::kRevoked, "ticket_closed", t2)},
           7);
  EXPECT_CALL(ca_, buildCrlDer(ElementsAre(AllOf(Field(&ca::RevokedEntry::serial_hex, "0a"),
                                                 Field(&ca::RevokedEntry::revoked_at,
                                                       core::TimePoint(std::chrono::milliseconds(t1))),
                                                 Field(&ca::RevokedEntry::reason,
                                                       ca::RevocationReason::kPrivilegeWithdrawn)),
                                           AllOf(Field(&ca::RevokedEntry::serial_hex, "0b"),
                                                 Field(&ca::RevokedEntry::reason,
                                                       ca::RevocationReason::kCessationOfOperation))),
                               7, kStart, kNextUpdate))
      .WillOnce(Return(ca::Result<std::string>(std::string("CRL-7"))));
  auto der = pki_.crlDer();
  ASSERT_TRUE(der.ok()) << der.status().message();
  EXPECT_EQ(*der, "CRL-7");
  EXPECT_NE(metrics().find("jitbroker_crl_builds_total 1\n"), std::string::npos) << metrics();
  EXPECT_NE(metrics().find("jitbroker_crl_entries 2\n"), std::string::npos) << metrics();
}

TEST_F(PkiServiceTest, CrlIsSignedAgainOnlyAfterARevocationOrHalfItsInterval) {
  storeHas({}, 1);
  EXPECT_CALL(ca_, buildCrlDer(_, 1, _, _)).WillOnce(Return(ca::Result<std::string>(std::string("CRL-1"))));
  EXPECT_EQ(*pki_.crlDer(), "CRL-1");
  clock_.advance(kNextUpdate / 2 - 1s);
  EXPECT_EQ(*pki_.crlDer(), "CRL-1");  // cached: the strict mocks see no second build
  ::testing::Mock::VerifyAndClearExpectations(&store_);

  pki_.certificatesRevoked();
  storeHas({certLease("0c", store::LeaseState::kRevoked, "admin", ms(clock_.now()))}, 2);
  EXPECT_CALL(ca_, buildCrlDer(_, 2, _, _)).WillOnce(Return(ca::Result<std::string>(std::string("CRL-2"))));
  EXPECT_EQ(*pki_.crlDer(), "CRL-2");
  EXPECT_EQ(*pki_.crlDer(), "CRL-2");
  ::testing::Mock::VerifyAndClearExpectations(&store_);

  clock_.advance(kNextUpdate / 2);  // half the interval since the last build: refreshed
  storeHas({}, 3);
  EXPECT_CALL(ca_, buildCrlDer(_, 3, clock_.now(), kNextUpdate))
      .WillOnce(Return(ca::Result<std::string>(std::string("CRL-3"))));
  EXPECT_EQ(*pki_.crlDer(), "CRL-3");
  EXPECT_NE(metrics().find("jitbroker_crl_builds_total 3\n"), std::string::npos) << metrics();
}

TEST_F(PkiServiceTest, StoreFailureIsA503WithAJsonErrorAndTheNextFetchTriesAgain) {
  pki_.certificatesRevoked();
  EXPECT_CALL(store_, revokedUnexpiredCertificates(_))
      .WillOnce(Return(core::unavailable("database is locked")));
  http::Response r = call("GET", "/v1/ca/crl");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "application/json");
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_TRUE(body.contains("error")) << r.body;
  // The CRL number is not spent on a CRL that was never signed.
  ::testing::Mock::VerifyAndClearExpectations(&store_);

  EXPECT_CALL(store_, revokedUnexpiredCertificates(_)).WillOnce(Return(std::vector<store::LeaseRow>{}));
  EXPECT_CALL(store_, nextCounter("crl_number")).WillOnce(Return(core::unavailable("disk I/O error")));
  EXPECT_EQ(call("GET", "/v1/ca/crl.pem").status, 503);
  ::testing::Mock::VerifyAndClearExpectations(&store_);

  storeHas({}, 9);
  EXPECT_CALL(ca_, buildCrlDer(_, 9, _, _)).WillOnce(Return(ca::Result<std::string>(std::string("CRL-9"))));
  r = call("GET", "/v1/ca/crl");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/pkix-crl");
  EXPECT_EQ(r.body, "CRL-9");
}

TEST_F(PkiServiceTest, CaFailureIsA500AndIsNotCached) {
  storeHas({}, 4);
  EXPECT_CALL(ca_, buildCrlDer(_, 4, _, _))
      .WillOnce(Return(ca::Result<std::string>(ca::internal("signing failed"))));
  http::Response r = call("GET", "/v1/ca/crl");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(boost::json::parse(r.body).as_object().contains("error")) << r.body;
  ::testing::Mock::VerifyAndClearExpectations(&store_);
  storeHas({}, 5);
  EXPECT_CALL(ca_, buildCrlDer(_, 5, _, _)).WillOnce(Return(ca::Result<std::string>(std::string("CRL-5"))));
  r = call("GET", "/v1/ca/crl.pem");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/x-pem-file");
  EXPECT_NE(r.body.find("-----BEGIN X509 CRL-----"), std::string::npos) << r.body;
}

// OCSP: the CA builds the answer; the service tells it each serial's status from the store.
class OcspTest : public PkiServiceTest {
 protected:
  // Runs one OCSP request and returns what the lookup said of `serial`.
  ca::CertStatus statusOf(const std::string& serial) {
    ca::CertStatus seen;
    EXPECT_CALL(ca_, respondOcsp(std::string_view("REQ"), _, clock_.now(), std::chrono::seconds(300)))
        .WillOnce([&](std::string_view, const testing::MockSigningAuthority::Lookup& lookup,
                      ca::TimePoint, std::chrono::seconds) {
          seen = lookup(serial);
          return ca::OcspAnswer{false, "RESP"};
        });
    ca::OcspAnswer a = pki_.ocsp("REQ");
    EXPECT_EQ(a.response_der, "RESP");
    return seen;
  }
};

TEST_F(OcspTest, AnActiveOrExpiredCertificateIsGood) {
  EXPECT_CALL(store_, findLeaseBySerial("01"))
      .WillOnce(Return(std::optional<store::LeaseRow>(certLease("01", store::LeaseState::kActive))));
  EXPECT_EQ(statusOf("01").state, ca::CertState::kGood);
  EXPECT_CALL(store_, findLeaseBySerial("02"))
      .WillOnce(Return(std::optional<store::LeaseRow>(
          certLease("02", store::LeaseState::kExpired, "ttl", ms(kStart)))));
  EXPECT_EQ(statusOf("02").state, ca::CertState::kGood);
}

TEST_F(OcspTest, ARevokedCertificateCarriesItsTimeAndReason) {
  const int64_t at = ms(kStart) - 60'000;
  EXPECT_CALL(store_, findLeaseBySerial("03"))
      .WillOnce(Return(std::optional<store::LeaseRow>(
          certLease("03", store::LeaseState::kRevoked, "policy_changed", at))));
  ca::CertStatus s = statusOf("03");
  EXPECT_EQ(s.state, ca::CertState::kRevoked);
  EXPECT_EQ(s.revoked_at, core::TimePoint(std::chrono::milliseconds(at)));
  EXPECT_EQ(s.reason, ca::RevocationReason::kPrivilegeWithdrawn);
}

// The responseStatus of a DER OCSPResponse, read back by OpenSSL.
int ocspResponseStatus(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> r(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())), &OCSP_RESPONSE_free);
  return r ? OCSP_response_status(r.get()) : -1;
}

TEST_F(OcspTest, AnUnknownSerialIsUnknownAndAStoreFailureIsTryLater) {
  EXPECT_CALL(store_, findLeaseBySerial("04")).WillOnce(Return(std::optional<store::LeaseRow>()));
  EXPECT_EQ(statusOf("04").state, ca::CertState::kUnknown);
  // Never "good" on a failed read: the relying party must not accept what was not checked,
  // and "unknown" would say the CA never issued it; tryLater says ask again.
  EXPECT_CALL(store_, findLeaseBySerial("05")).WillOnce(Return(core::unavailable("database is locked")));
  EXPECT_CALL(ca_, respondOcsp(std::string_view("REQ"), _, _, _))
      .WillOnce([](std::string_view, const testing::MockSigningAuthority::Lookup& lookup,
                   ca::TimePoint, std::chrono::seconds) {
        EXPECT_EQ(lookup("05").state, ca::CertState::kUnknown);
        return ca::OcspAnswer{false, "RESP"};
      });
  ca::OcspAnswer a = pki_.ocsp("REQ");
  EXPECT_FALSE(a.malformed);
  EXPECT_EQ(ocspResponseStatus(a.response_der), OCSP_RESPONSE_STATUS_TRYLATER);
}

TEST_F(OcspTest, WhileTheStoreIsOutOfReachEveryAnswerIsTryLater) {
  bool reachable = false;
  pki_.setAvailability([&] { return reachable; });
  EXPECT_CALL(ca_, respondOcsp(_, _, _, _)).Times(0);
  ca::OcspAnswer a = pki_.ocsp("REQ");
  EXPECT_EQ(ocspResponseStatus(a.response_der), OCSP_RESPONSE_STATUS_TRYLATER);
  ::testing::Mock::VerifyAndClearExpectations(&ca_);
  reachable = true;
  EXPECT_CALL(store_, findLeaseBySerial("01"))
      .WillOnce(Return(std::optional<store::LeaseRow>(certLease("01", store::LeaseState::kActive))));
  EXPECT_EQ(statusOf("01").state, ca::CertState::kGood);
}

TEST_F(OcspTest, AMalformedRequestIs400AndTheStatusLabelsTheMetric) {
  EXPECT_CALL(ca_, respondOcsp(std::string_view("good"), _, _, _))
      .WillOnce(Return(ca::OcspAnswer{false, "OK-DER"}));
  EXPECT_CALL(ca_, respondOcsp(std::string_view("junk"), _, _, _))
      .WillOnce(Return(ca::OcspAnswer{true, "MALFORMED-DER"}));
  http::Response ok = call("POST", "/v1/ocsp", "good");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.content_type, "application/ocsp-response");
  EXPECT_EQ(ok.body, "OK-DER");
  http::Response bad = call("POST", "/v1/ocsp", "junk");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.content_type, "application/ocsp-response");
  EXPECT_EQ(bad.body, "MALFORMED-DER");
  EXPECT_NE(metrics().find("jitbroker_ocsp_responses_total{code=\"200\"} 1\n"), std::string::npos)
      << metrics();
  EXPECT_NE(metrics().find("jitbroker_ocsp_responses_total{code=\"400\"} 1\n"), std::string::npos);
}

TEST_F(OcspTest, GetFormDecodesTheBase64RequestAndPassesUndecodableOnesAsEmpty) {
  EXPECT_CALL(ca_, respondOcsp(std::string_view("REQ"), _, _, _))
      .WillOnce(Return(ca::OcspAnswer{false, "R1"}));
  EXPECT_CALL(ca_, respondOcsp(std::string_view(""), _, _, _))
      .WillOnce(Return(ca::OcspAnswer{true, "R2"}));
  EXPECT_EQ(call("GET", "/v1/ocsp/" + core::base64Encode("REQ")).body, "R1");
  http::Response bad = call("GET", "/v1/ocsp/%25%25notbase64");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "R2");
}

TEST_F(PkiServiceTest, ChainRouteConcatenatesTheCasChain) {
  const std::vector<std::string> chain{"INTERMEDIATE\n", "ROOT\n"};
  EXPECT_CALL(ca_, chainPem()).WillOnce(ReturnRef(chain));
  http::Response r = call("GET", "/v1/ca/chain.pem");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/pem-certificate-chain");
  EXPECT_EQ(r.body, "INTERMEDIATE\nROOT\n");
}

TEST(ReasonForTest, MapsLeaseEndsToRfc5280Reasons) {
  for (const char* r : {"admin", "ticket_changed", "approval_withdrawn", "policy_changed", "review_failed"})
    EXPECT_EQ(reasonFor(r), ca::RevocationReason::kPrivilegeWithdrawn) << r;
  for (const char* r : {"ticket_closed", "window_ended", "returned", "ttl"})
    EXPECT_EQ(reasonFor(r), ca::RevocationReason::kCessationOfOperation) << r;
}

}  // namespace
}  // namespace jitb::pki
