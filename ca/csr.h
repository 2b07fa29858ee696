// Certificate signing requests: parsed, proof of possession checked, key and extensions
// allow-listed. What a CSR asks for is only a request; the issuance profile decides.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ca/ossl.h"
#include "ca/result.h"

namespace jitb::ca {

class Csr {
 public:
  // PEM or DER. Refuses a bad self-signature, keys other than P-256, P-384, Ed25519 and
  // RSA >= 2048, a request for a CA certificate, and extensions other than subjectAltName,
  // keyUsage and extendedKeyUsage, each with a message naming what was refused.
  static Result<Csr> parse(std::string_view pem_or_der);

  // The key type matters to the profile (RSA keys get keyEncipherment).
  bool rsaKey() const { return rsa_; }
  // The DER SubjectPublicKeyInfo, copied into the certificate as is.
  const std::string& spkiDer() const { return spki_der_; }
  const std::string& commonName() const { return cn_; }
  const std::vector<std::string>& dnsNames() const { return dns_; }
  const std::vector<std::string>& uris() const { return uris_; }
  const std::vector<std::string>& ips() const { return ips_; }

 private:
  Csr() = default;
  static std::optional<Csr> parseP256(std::string_view der);
  bool rsa_ = false;
  std::string cn_;
  std::string spki_der_;
  std::vector<std::string> dns_, uris_, ips_;
};

}  // namespace jitb::ca
