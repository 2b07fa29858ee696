// What issuing needs from the outside, as interfaces: the composition root plugs in the JWT
// verifier, the token signer and the CA; tests plug in gmock mocks (tests/support/mocks/).
// Where a call runs (an I/O thread or a lookup thread) is the wire adapter's business, not theirs.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "policies/engine/policy.h"

namespace jitb::issuing {

struct Caller {
  std::string issuer;
  std::string subject;
  boost::json::object claims;
};

// Verifies a caller's JWT against the configured trust entries. Unauthenticated on failure,
// with a message naming the failed check.
class CallerVerifier {
 public:
  virtual ~CallerVerifier() = default;
  virtual core::StatusOr<Caller> verify(std::string_view jwt, core::TimePoint now) = 0;
};

// The broker's own access tokens: signs new ones and checks presented ones (introspection,
// revocation). verify() checks the signature and iss only; liveness is the lease's business.
class TokenService {
 public:
  virtual ~TokenService() = default;
  virtual core::StatusOr<std::string> sign(const boost::json::object& claims) = 0;
  virtual core::StatusOr<boost::json::object> verify(std::string_view jwt) = 0;
};

struct CertRequest {
  std::string csr;  // PEM or DER; empty: the broker makes the key pair (server-side key option)
  policies::CertProfile profile = policies::CertProfile::kClient;
  std::string common_name;
  std::vector<std::string> uri_sans, dns_sans;
  core::TimePoint not_after;
};

struct CertResult {
  std::string certificate_pem;
  std::vector<std::string> chain_pem;  // issuing CA first, root last
  std::string serial_hex;
  core::TimePoint not_after;
  std::string private_key_pem;  // only for a server-side key; never stored
};

class CertificateIssuer {
 public:
  virtual ~CertificateIssuer() = default;
  // InvalidArgument for a bad CSR; PermissionDenied naming a name the profile does not allow.
  virtual core::StatusOr<CertResult> issue(const CertRequest& req, core::TimePoint now) = 0;
};

// The detail of a PeerAuthenticator refusal whose certificate was revoked because its ticket is
// closed, canceled or rejected, or its window is over: final, unlike other refusals.
inline constexpr std::string_view kTicketClosedDetail = "ticket_closed";

// Callers that hold a certificate from the broker's own CA (service accounts renewing): the
// TLS layer has verified the chain; this checks the certificate's lease is still active and
// names the caller by its URI SAN.
class PeerAuthenticator {
 public:
  virtual ~PeerAuthenticator() = default;
  virtual core::StatusOr<Caller> authenticate(std::string_view cert_der, core::TimePoint now) = 0;
};

// The current policy set, swapped atomically on reload.
class PolicyHolder {
 public:
  std::shared_ptr<const policies::PolicySet> get() const {
    std::lock_guard lk(mu_);
    return set_;
  }
  void set(std::shared_ptr<const policies::PolicySet> s) {
    std::lock_guard lk(mu_);
    set_ = std::move(s);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const policies::PolicySet> set_;
};

}  // namespace jitb::issuing
