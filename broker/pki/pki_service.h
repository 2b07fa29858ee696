// The broker's face of ca/: issues certificates for the issuing step, and serves the chain,
// the CRL (rebuilt lazily after revocations, so a burst of them costs one signature) and
// OCSP answers from the lease store. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "broker/core/clock.h"
#include "broker/core/encoding.h"
#include "broker/http/router.h"
#include "broker/issuing/ports.h"
#include "broker/metrics/registry.h"
#include "broker/store/leader.h"
#include "broker/store/store.h"
#include "ca/authority.h"

namespace jitb::pki {

class PkiService final : public issuing::CertificateIssuer, public issuing::PeerAuthenticator {
 public:
  PkiService(ca::SigningAuthority& ca, store::Store& store, const core::Clock& clock,
             metrics::Registry& metrics, std::chrono::seconds crl_next_update,
             std::string issuer_url);

  core::StatusOr<issuing::CertResult> issue(const issuing::CertRequest& req,
                                            core::TimePoint now) override;

  // A client certificate the TLS layer verified against this CA: its lease must be active,
  // and its one URI SAN names the caller (issuer = the broker's public URL).
  core::StatusOr<issuing::Caller> authenticate(std::string_view cert_der,
                                               core::TimePoint now) override;

  ~PkiService() override;
  // Called when leases end: a revoked certificate makes the CRL stale.
  void certificatesRevoked();
  // Before first use: while it returns false (the store out of reach) OCSP answers tryLater,
  // as it does when the store read fails.
  void setAvailability(std::function<bool()> available) { available_ = std::move(available); }

  // The current CRL (DER); rebuilt when stale or past half its next-update interval. On a store
  // that keeps the CRL (PostgreSQL, several replicas) every replica serves the stored one, so
  // all answer with the same bytes; see sharedCrlDer.
  core::StatusOr<std::string> crlDer();

  // Serve the CRL the store keeps for this CA (when it keeps CRLs), rebuilt by `leader`'s
  // replica. Before serving; `leader` outlives this.
  void useSharedCrl(const store::Leader& leader) {
    leader_ = &leader;
    // The issuing certificate names the stored CRL, so a CA replaced under the same store never
    // serves its predecessor's.
    if (!ca_.chainPem().empty()) issuer_key_ = core::hexEncode(core::sha256(ca_.chainPem().front()));
    shared_crl_ = true;
  }
  // With the shared CRL: the leader stores a new CRL kBatch after it is told of a revocation
  // (so that a burst makes one), not when its own CRL is next fetched, which behind a load
  // balancer may be long after the others were asked for theirs. On a thread of its own, until
  // stop(), which must come before `leader` goes. pki/shared_crl.cc.
  void startLeaderBuilds();
  void stop();
  static constexpr std::chrono::milliseconds kBatch{50};
  // How long a replica that knows of a revocation the stored CRL misses waits for the leader
  // to store a newer one before it builds one itself (the leader may be slow, dead, or not
  // told): every replica's CRL must list a revocation within 1 s.
  static constexpr std::chrono::milliseconds kLeaderGrace{500};
  // How long a stored CRL read serves before the store is read again.
  static constexpr std::chrono::milliseconds kReread{1000};
  ca::OcspAnswer ocsp(std::string_view request_der);

  void addRoutes(http::Router& router);

 private:
  // `failed` is set when the store could not be read.
  ca::CertStatus lookup(const std::string& serial_hex, bool& failed);
  // Signs a CRL of the store's revoked certificates now, its number from the store's counter
  // (so numbers grow whichever replica builds). crl_mu_ held.
  core::StatusOr<store::StoredCrl> buildCrl(core::TimePoint now);
  // pki/shared_crl.cc. NotFound when the store keeps no CRL. crl_mu_ held.
  core::StatusOr<std::string> sharedCrlDer(core::TimePoint now);

  ca::SigningAuthority& ca_;
  store::Store& store_;
  const core::Clock& clock_;
  metrics::Registry& metrics_;
  std::chrono::seconds next_update_;
  std::string issuer_url_;
  std::function<bool()> available_;
  std::atomic<bool> crl_dirty_{true};
  std::mutex crl_mu_;
  std::string crl_der_;
  core::TimePoint crl_built_{};
  // The shared CRL: when this replica last read it, and the time of the last revocation it
  // was told of (the stored CRL must be built after it).
  const store::Leader* leader_ = nullptr;
  bool shared_crl_ = false;  // until useSharedCrl, and while the store keeps CRLs
  core::TimePoint crl_read_{};
  std::atomic<int64_t> dirty_at_ms_{0};
  std::string issuer_key_;
  // startLeaderBuilds' thread: told of revocations through `told_`.
  std::mutex builder_mu_;
  std::condition_variable builder_cv_;
  bool told_ = false, stopping_ = false;
  std::thread builder_;
};

// RFC 5280 reason for a lease's end reason.
ca::RevocationReason reasonFor(const std::string& lease_reason);

}  // namespace jitb::pki
