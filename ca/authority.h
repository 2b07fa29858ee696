// The broker's certificate authority: a root and an issuing intermediate (or a brought
// intermediate), short-lived leaves from issuance profiles, CRLs and OCSP answers. Knows
// nothing of tickets or HTTP; time is always passed in. Issuing is thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ca/csr.h"
#include "ca/key.h"
#include "ca/result.h"

namespace jitb::ca {

using TimePoint = std::chrono::system_clock::time_point;

struct CaConfig {
  std::string dir;  // root.{crt,key}, intermediate.{crt,key}; keys 0600, dir 0700
  KeyAlgorithm algorithm = KeyAlgorithm::kEcP256;
  std::string name = "jitbroker";        // CN prefix of the generated CAs
  std::string public_url;                // base of the CRL and OCSP URLs put in leaves
  std::chrono::seconds backdate{30};     // notBefore = now - backdate
  // Bring your own issuing CA instead of generating one.
  std::string intermediate_cert_file, intermediate_key_file, root_cert_file;
};

enum class ProfileKind { kClient, kServer, kSpiffe };

// Produced by the policy step; the CA obeys it and nothing else.
struct IssuanceProfile {
  ProfileKind kind = ProfileKind::kClient;
  std::string common_name;  // may be empty
  std::vector<std::string> dns_sans, uri_sans, ip_sans;
  TimePoint not_after;
};

struct IssuedCertificate {
  std::string pem, der;
  std::string serial_hex;  // lower-case, no leading zeros: how the store and CRL name it
  TimePoint not_before, not_after;
};

struct ServerKeyCertificate {
  IssuedCertificate certificate;
  std::string private_key_pem;  // for the holder only; the CA keeps no copy
};

// RFC 5280 reason codes (unspecified is left out of the CRL entry, per §5.3.1).
enum class RevocationReason {
  kUnspecified = 0, kKeyCompromise = 1, kAffiliationChanged = 3, kSuperseded = 4,
  kCessationOfOperation = 5, kPrivilegeWithdrawn = 9 };

struct RevokedEntry {
  std::string serial_hex;
  TimePoint revoked_at;
  RevocationReason reason = RevocationReason::kUnspecified;
};

enum class CertState { kGood, kRevoked, kUnknown };
struct CertStatus {
  CertState state = CertState::kUnknown;
  TimePoint revoked_at{};
  RevocationReason reason = RevocationReason::kUnspecified;
};

// Every request gets a DER OCSP response (RFC 6960), even one that does not parse; `malformed`
// says the request itself was at fault (the responder's caller decides what that means on its
// transport), as opposed to a good answer or the CA's own failure (internalError).
struct OcspAnswer {
  bool malformed = false;
  std::string response_der;
};

// What the broker asks of its CA once it runs: leaves, the chain, CRLs and OCSP answers.
// CertificateAuthority is the one implementation; its users take this, so that they can be
// tested with a mock CA (tests/support/mocks/mock_signing_authority.h).
class SigningAuthority {
 public:
  virtual ~SigningAuthority() = default;
  // PermissionDenied, naming the name, when the CSR asks for a name the profile lacks.
  virtual Result<IssuedCertificate> issue(const Csr& csr, const IssuanceProfile& profile,
                                          TimePoint now) const = 0;
  virtual Result<ServerKeyCertificate> issueWithServerKey(const IssuanceProfile& profile,
                                                          KeyAlgorithm algorithm,
                                                          TimePoint now) const = 0;
  // Issuing intermediate first, root last.
  virtual const std::vector<std::string>& chainPem() const = 0;
  // A v2 CRL signed by the intermediate. The caller drops entries of expired certificates
  // and keeps the CRL number monotonic across restarts.
  virtual Result<std::string> buildCrlDer(const std::vector<RevokedEntry>& entries,
                                          int64_t crl_number, TimePoint now,
                                          std::chrono::seconds next_update) const = 0;
  // RFC 6960. Never throws or crashes on hostile input: a request that does not parse gets
  // a malformedRequest response (HTTP 400).
  virtual OcspAnswer respondOcsp(
      std::string_view request_der,
      const std::function<CertStatus(const std::string& serial_hex)>& lookup, TimePoint now,
      std::chrono::seconds next_update) const = 0;
};

// A whole generated CA as PEM text, for keeping it somewhere else than the CA folder (the
// broker's store, sealed). The keys are PKCS#8; whoever holds this wipes them.
struct CaMaterial {
  std::string root_cert_pem, root_key_pem, intermediate_cert_pem, intermediate_key_pem;
};
// A new root (10 years) and issuing intermediate (5 years) named after `name`, as bootstrap
// makes them on a first start.
Result<CaMaterial> makeCaMaterial(const std::string& name, KeyAlgorithm algorithm, TimePoint now);

class CertificateAuthority final : public SigningAuthority {
 public:
  // The CA of `m` (its root key is not used, and may be empty); cfg.dir is not read.
  static Result<std::unique_ptr<CertificateAuthority>> fromMaterial(const CaConfig& cfg,
                                                                    const CaMaterial& m);
  // First start (empty CA folder): creates and writes the root and intermediate. Later starts
  // load root.crt and the intermediate's certificate and key; root.key may be absent. A folder
  // holding only part of a CA is an error, never a reason to make a new root.
  static Result<std::unique_ptr<CertificateAuthority>> bootstrap(const CaConfig& cfg,
                                                                 TimePoint now);
  ~CertificateAuthority() override;

  Result<IssuedCertificate> issue(const Csr& csr, const IssuanceProfile& profile,
                                  TimePoint now) const override;
  Result<ServerKeyCertificate> issueWithServerKey(const IssuanceProfile& profile,
                                                  KeyAlgorithm algorithm,
                                                  TimePoint now) const override;

  const std::vector<std::string>& chainPem() const override;
  const std::string& rootPem() const;
  // True when the generated root's private key is in the CA folder; false once it was taken
  // offline, and for a brought intermediate. Issuing never needs it.
  bool rootKeyOnline() const;

  Result<std::string> buildCrlDer(const std::vector<RevokedEntry>& entries, int64_t crl_number,
                                  TimePoint now, std::chrono::seconds next_update) const override;
  OcspAnswer respondOcsp(std::string_view request_der,
                         const std::function<CertStatus(const std::string& serial_hex)>& lookup,
                         TimePoint now, std::chrono::seconds next_update) const override;

  // "CertificateAuthority(EC P-256, CN=...)": never key bytes.
  std::string describe() const;

  struct State;  // opaque: OpenSSL objects and pre-encoded extensions

 private:
  explicit CertificateAuthority(std::unique_ptr<State> s);
  static Result<std::unique_ptr<CertificateAuthority>> assemble(const CaConfig& cfg,
                                                                PrivateKey key, X509Ptr cert,
                                                                X509Ptr root, bool root_key_online);
  std::unique_ptr<State> s_;
};

std::ostream& operator<<(std::ostream& os, const CertificateAuthority& ca);

std::string derToPem(std::string_view der, const char* label);  // "X509 CRL", "CERTIFICATE"

// What identifies the holder of a (chain-verified) client certificate.
struct PeerIdentity {
  std::string serial_hex;      // as IssuedCertificate::serial_hex
  std::string uri;             // its only URI SAN
  std::string sha256_b64url;   // RFC 8705 x5t#S256 thumbprint
};
Result<PeerIdentity> peerIdentity(std::string_view cert_der);

}  // namespace jitb::ca
