// Two PkiService replicas on one PostgreSQL store, with a real CA and OpenSSL reading the CRLs:
// both serve the same bytes, the leader rebuilds after a revocation and the other serves its
// CRL, a replica builds itself when the leader lags or dies, and CRL numbers only grow.
#include <gtest/gtest.h>
#include <thread>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "broker/pki/pki_service.h"
#include "broker/store/leader.h"
#include "ca/authority.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store_conformance/pg_env.h"

namespace jitb::pki {
namespace {

using namespace std::chrono_literals;

const core::TimePoint kStart = std::chrono::system_clock::from_time_t(1795456800);

// The CRL's number, read by OpenSSL (-1 when it does not parse).
int64_t crlNumber(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  if (!crl) return -1;
  auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr));
  int64_t v = -1;
  if (n) ASN1_INTEGER_get_int64(&v, n);
  ASN1_INTEGER_free(n);
  X509_CRL_free(crl);
  return v;
}

int revokedCount(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  if (!crl) return -1;
  STACK_OF(X509_REVOKED)* r = X509_CRL_get_REVOKED(crl);
  int n = r ? sk_X509_REVOKED_num(r) : 0;
  X509_CRL_free(crl);
  return n;
}

class SharedCrl : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = store::conformance::PgEnv::create();
    ASSERT_TRUE(env.ok()) << env.status().message();
    env_ = std::move(*env);
    for (auto* s : {&a_, &b_}) {
      auto opened = env_->openPg();
      ASSERT_TRUE(opened.ok()) << opened.status().detail();
      *s = std::move(*opened);
    }
    ca::CaConfig cfg;
    cfg.dir = dir_.path() + "/ca";
    cfg.public_url = "https://broker.test";
    auto made = ca::CertificateAuthority::bootstrap(cfg, kStart);
    ASSERT_TRUE(made.ok()) << made.error().message;
    ca_ = std::move(*made);
    leader_a_ = std::make_unique<store::Leader>(*a_, "a", clock_);
    leader_b_ = std::make_unique<store::Leader>(*b_, "b", clock_);
    pki_a_ = std::make_unique<PkiService>(*ca_, *a_, clock_, metrics_a_, 1h, "https://broker.test");
    pki_b_ = std::make_unique<PkiService>(*ca_, *b_, clock_, metrics_b_, 1h, "https://broker.test");
    pki_a_->useSharedCrl(*leader_a_);
    pki_b_->useSharedCrl(*leader_b_);
    ASSERT_TRUE(leader_a_->poll());
    ASSERT_FALSE(leader_b_->poll());
  }
  std::string crl(PkiService& p) {
    auto der = p.crlDer();
    EXPECT_TRUE(der.ok()) << der.status().message();
    return der.ok() ? *der : std::string();
  }
  // A certificate lease revoked now, in the store both replicas share.
  void revokeOne(const std::string& serial) {
    store::LeaseRow l;
    l.id = "lease-" + serial;
    l.kind = store::LeaseKind::kCertificate;
    l.ticket = "T1";
    l.subject = "s";
    l.serial = serial;
    l.issued_at = core::unixMillis(clock_.now());
    l.expires_at = l.issued_at + 3'600'000;
    ASSERT_TRUE(a_->insertLease(l).ok());
    auto ended = a_->endLease(l.id, store::LeaseState::kRevoked, "admin", core::unixMillis(clock_.now()));
    ASSERT_TRUE(ended.ok() && ended->has_value());
  }

  testing::TempDir dir_;
  core::FakeClock clock_{kStart};
  std::unique_ptr<store::conformance::PgEnv> env_;
  std::unique_ptr<store::PgStore> a_, b_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
  std::unique_ptr<store::Leader> leader_a_, leader_b_;
  metrics::Registry metrics_a_, metrics_b_;
  std::unique_ptr<PkiService> pki_a_, pki_b_;
};

TEST_F(SharedCrl, BothReplicasServeTheLeadersBytesAndNumbersOnlyGrow) {
  const std::string first = crl(*pki_a_);
  ASSERT_GT(crlNumber(first), 0);
  // ECDSA signatures differ on every signing: equal bytes mean one CRL, served twice.
  EXPECT_EQ(crl(*pki_b_), first);

  // A revocation both replicas are told of: the non-leader keeps serving the stored CRL until
  // the leader stored its successor, then serves that one.
  clock_.advance(10ms);
  revokeOne("0a01");
  pki_a_->certificatesRevoked();
  pki_b_->certificatesRevoked();
  EXPECT_EQ(crl(*pki_b_), first);
  const std::string second = crl(*pki_a_);
  EXPECT_GT(crlNumber(second), crlNumber(first));
  EXPECT_EQ(revokedCount(second), 1);
  EXPECT_EQ(crl(*pki_b_), second);
  EXPECT_EQ(metrics_b_.render().find("jitbroker_crl_builds_total 1"), std::string::npos)
      << "the non-leader built a CRL";
}

// Behind a load balancer the leader's own CRL may not be fetched for a while: told of a
// revocation, it stores a new CRL by itself, and the other replica serves that one before its
// grace runs out (so it never builds one of its own).
TEST_F(SharedCrl, TheLeaderStoresANewCrlWhenToldOfARevocationWithoutAFetch) {
  const std::string first = crl(*pki_a_);
  EXPECT_EQ(crl(*pki_b_), first);
  pki_a_->startLeaderBuilds();
  clock_.advance(10ms);
  revokeOne("0c03");
  pki_a_->certificatesRevoked();
  pki_b_->certificatesRevoked();
  const core::TimePoint told = clock_.now();
  std::string seen = crl(*pki_b_);
  // The clock moves 1 ms per round, so the leader's batch (kBatch) passes and B's grace does
  // not: B serves what the leader stored, or the first CRL.
  while (revokedCount(seen) != 1 && clock_.now() - told < PkiService::kLeaderGrace - 10ms) {
    clock_.advance(1ms);
    std::this_thread::sleep_for(2ms);
    seen = crl(*pki_b_);
  }
  EXPECT_EQ(revokedCount(seen), 1) << "B still serves the CRL from before the revocation";
  EXPECT_GT(crlNumber(seen), crlNumber(first));
  EXPECT_EQ(metrics_b_.render().find("jitbroker_crl_builds_total 1"), std::string::npos)
      << "the non-leader built a CRL";
  pki_a_->stop();
}

TEST_F(SharedCrl, AReplicaBuildsItselfWhenTheLeaderLagsAndItsNumberIsNext) {
  const std::string first = crl(*pki_a_);
  EXPECT_EQ(crl(*pki_b_), first);
  clock_.advance(10ms);
  revokeOne("0b02");
  pki_b_->certificatesRevoked();  // the leader is not told (a lost notification)
  EXPECT_EQ(crl(*pki_b_), first);
  clock_.advance(PkiService::kLeaderGrace);
  const std::string own = crl(*pki_b_);
  EXPECT_GT(crlNumber(own), crlNumber(first));
  EXPECT_EQ(revokedCount(own), 1);
  clock_.advance(PkiService::kReread);  // the leader reads the store again: the same bytes
  EXPECT_EQ(crl(*pki_a_), own);
}

TEST_F(SharedCrl, WhenTheLeaderDiesTheNextLeaderRebuildsAStaleCrl) {
  const std::string first = crl(*pki_a_);
  clock_.advance(31min);  // past half the hour's interval; a stopped renewing long ago
  EXPECT_TRUE(leader_b_->poll());
  EXPECT_FALSE(leader_a_->leads());
  const std::string rebuilt = crl(*pki_b_);
  EXPECT_GT(crlNumber(rebuilt), crlNumber(first));
  EXPECT_EQ(crl(*pki_a_), rebuilt);  // a, no longer leading, serves b's
}

}  // namespace
}  // namespace jitb::pki
