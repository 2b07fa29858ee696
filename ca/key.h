// Key material behind a handle (the Tink habit): a PrivateKey can sign and write itself to a
// 0600 file, but nothing prints or logs its bytes. Move-only; const methods are thread-safe.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "ca/ossl.h"
#include "ca/result.h"

namespace jitb::ca {

enum class KeyAlgorithm { kEcP256, kEcP384, kEd25519, kRsa3072 };

const char* keyAlgorithmName(KeyAlgorithm a);
// "p256", "p384", "ed25519", "rsa3072" (config spelling).
Result<KeyAlgorithm> keyAlgorithmFromName(std::string_view name);

class PrivateKey {
 public:
  static Result<PrivateKey> generate(KeyAlgorithm a);
  static Result<PrivateKey> fromPem(std::string_view pem);
  static Result<PrivateKey> fromPemFile(const std::string& path);

  // Written via a temp file and rename, mode 0600.
  Result<bool> writePemFile(const std::string& path) const;
  // The PKCS#8 PEM, for the server-side key option only: handed to the caller once, never
  // stored or logged by the broker.
  std::string exportPemForHolder() const;

  // "PrivateKey(EC P-256, redacted)".
  std::string describe() const;
  // The digest to sign with: SHA-256 (P-256, RSA), SHA-384 (P-384), none (Ed25519).
  const EVP_MD* signingDigest() const;
  EVP_PKEY* get() const { return key_.get(); }

 private:
  explicit PrivateKey(PkeyPtr k) : key_(std::move(k)) {}
  PkeyPtr key_;
};

std::ostream& operator<<(std::ostream& os, const PrivateKey& k);

// Names a public key for allow-list decisions and messages: "EC P-256", "RSA-1024", ...
std::string describePublicKey(EVP_PKEY* key);
// True for P-256, P-384, Ed25519 and RSA >= 2048.
bool publicKeyAllowed(EVP_PKEY* key);

}  // namespace jitb::ca
