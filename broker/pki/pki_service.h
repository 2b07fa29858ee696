// The broker's face of ca/: issues certificates for the issuing step, and serves the chain,
// the CRL (rebuilt lazily after revocations, so a burst of them costs one signature) and
// OCSP answers from the lease store. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "broker/core/clock.h"
#include "broker/http/router.h"
#include "broker/issuing/ports.h"
#include "broker/metrics/registry.h"
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

  // Called when leases end: a revoked certificate makes the CRL stale.
  void certificatesRevoked() { crl_dirty_ = true; }
  // Before first use: while it returns false (the store out of reach) OCSP answers tryLater,
  // as it does when the store read fails.
  void setAvailability(std::function<bool()> available) { available_ = std::move(available); }

  // The current CRL (DER); rebuilt when stale or past half its next-update interval.
  core::StatusOr<std::string> crlDer();
  ca::OcspAnswer ocsp(std::string_view request_der);

  void addRoutes(http::Router& router);

 private:
  // `failed` is set when the store could not be read.
  ca::CertStatus lookup(const std::string& serial_hex, bool& failed);

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
};

// RFC 5280 reason for a lease's end reason.
ca::RevocationReason reasonFor(const std::string& lease_reason);

}  // namespace jitb::pki
