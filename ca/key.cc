#include "ca/key.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>

namespace jitb::ca {

namespace {
std::string group(EVP_PKEY* k) {
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1)
    return {};
  return std::string(name, len);
}
}  // namespace

const char* keyAlgorithmName(KeyAlgorithm a) {
  switch (a) {
    case KeyAlgorithm::kEcP256: return "p256";
    case KeyAlgorithm::kEcP384: return "p384";
    case KeyAlgorithm::kEd25519: return "ed25519";
    case KeyAlgorithm::kRsa3072: return "rsa3072";
  }
  return "?";
}

Result<KeyAlgorithm> keyAlgorithmFromName(std::string_view n) {
  if (n == "p256" || n == "P-256" || n == "ecdsa-p256") return KeyAlgorithm::kEcP256;
  if (n == "p384" || n == "P-384" || n == "ecdsa-p384") return KeyAlgorithm::kEcP384;
  if (n == "ed25519" || n == "Ed25519") return KeyAlgorithm::kEd25519;
  if (n == "rsa3072" || n == "RSA-3072") return KeyAlgorithm::kRsa3072;
  return invalid("key algorithm must be p256, p384, ed25519 or rsa3072, got '" + std::string(n) + "'");
}

Result<PrivateKey> PrivateKey::generate(KeyAlgorithm a) {
  EVP_PKEY* k = nullptr;
  switch (a) {
    case KeyAlgorithm::kEcP256: k = EVP_EC_gen("P-256"); break;
    case KeyAlgorithm::kEcP384: k = EVP_EC_gen("P-384"); break;
    case KeyAlgorithm::kEd25519: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case KeyAlgorithm::kRsa3072: k = EVP_RSA_gen(3072); break;
  }
  if (!k) return internal("key generation failed");
  return PrivateKey(PkeyPtr(k));
}

Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!k) return invalid("not a PEM private key");
  return PrivateKey(std::move(k));
}

Result<PrivateKey> PrivateKey::fromPemFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::kNotFound, "cannot read key file " + path};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  auto k = fromPem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!k.ok()) return invalid(path + " is not a PEM private key");
  return k;
}

std::string PrivateKey::exportPemForHolder() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bioString(bio.get());
}

Result<bool> PrivateKey::writePemFile(const std::string& path) const {
  std::string pem = exportPemForHolder();
  unsigned char rnd[6];
  RAND_bytes(rnd, sizeof rnd);
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, ".%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
  std::string tmp = path + suffix;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) &&
            ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return internal("cannot write key file " + path);
  }
  return true;
}

std::string PrivateKey::describe() const {
  return "PrivateKey(" + describePublicKey(key_.get()) + ", redacted)";
}

const EVP_MD* PrivateKey::signingDigest() const {
  if (EVP_PKEY_is_a(key_.get(), "ED25519")) return nullptr;
  if (group(key_.get()) == "secp384r1") return EVP_sha384();
  return EVP_sha256();
}

std::ostream& operator<<(std::ostream& os, const PrivateKey& k) { return os << k.describe(); }

std::string describePublicKey(EVP_PKEY* k) {
  if (!k) return "no key";
  if (EVP_PKEY_is_a(k, "RSA")) return "RSA-" + std::to_string(EVP_PKEY_get_bits(k));
  if (EVP_PKEY_is_a(k, "ED25519")) return "Ed25519";
  if (EVP_PKEY_is_a(k, "ED448")) return "Ed448";
  if (EVP_PKEY_is_a(k, "EC")) {
    std::string g = group(k);
    if (g == "prime256v1") return "EC P-256";
    if (g == "secp384r1") return "EC P-384";
    return "EC " + (g.empty() ? std::string("unknown curve") : g);
  }
  return "unsupported key type";
}

bool publicKeyAllowed(EVP_PKEY* k) {
  std::string d = describePublicKey(k);
  if (d == "EC P-256" || d == "EC P-384" || d == "Ed25519") return true;
  return EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) >= 2048;
}

}  // namespace jitb::ca
