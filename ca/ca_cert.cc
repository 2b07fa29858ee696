#include "ca/ca_cert.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace jitb::ca {

namespace {

time_t toTimeT(std::chrono::system_clock::time_point t) {
  return std::chrono::system_clock::to_time_t(t);
}

AsnIntPtr randomSerial() {
  // 128 bits of randomness; positive (top bit clear) and never zero. Null without entropy.
  unsigned char b[16];
  do {
    if (RAND_bytes(b, sizeof b) != 1) return nullptr;
    b[0] &= 0x7f;
  } while (b[0] == 0);
  BnPtr bn(BN_bin2bn(b, sizeof b, nullptr));
  return AsnIntPtr(BN_to_ASN1_INTEGER(bn.get(), nullptr));
}

}  // namespace

std::string certPem(X509* c) {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), c);
  return bioString(b.get());
}

Result<X509Ptr> readCert(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::kNotFound, "cannot read " + path};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!c) return invalid(path + " is not a PEM certificate");
  return c;
}

Result<X509Ptr> certFromPem(std::string_view pem) {
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!c) return invalid("not a PEM certificate");
  return c;
}

// Owner-only (0600) like everything in the CA folder, written whole and fsynced before the
// rename so a crash never leaves half a certificate.
bool writeCert(const std::string& path, X509* c) {
  std::string pem = certPem(c), tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
            ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) &&
            ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

// A CA certificate; startup only, so the config-string extension API is fine here.
Result<X509Ptr> makeCaCert(const std::string& cn, const PrivateKey& subject_key, X509* issuer,
                           const PrivateKey& issuer_key, std::chrono::system_clock::time_point now,
                           long days, int pathlen) {
  X509Ptr c(X509_new());
  X509_set_version(c.get(), 2);
  AsnIntPtr serial = randomSerial();
  if (!serial || X509_set_serialNumber(c.get(), serial.get()) != 1)
    return internal("cannot make the CA certificate's serial");
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  ASN1_TIME_set(X509_getm_notBefore(c.get()), toTimeT(now) - 3600);
  ASN1_TIME_set(X509_getm_notAfter(c.get()), toTimeT(now) + days * 86400);
  X509_set_pubkey(c.get(), subject_key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : c.get(), c.get(), nullptr, nullptr, 0);
  std::string bc = pathlen >= 0 ? "critical,CA:TRUE,pathlen:" + std::to_string(pathlen)
                                : std::string("critical,CA:TRUE");
  const std::pair<int, std::string> exts[] = {
      {NID_basic_constraints, bc},
      {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  for (const auto& [nid, value] : exts) {
    ExtPtr e(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!e || X509_add_ext(c.get(), e.get(), -1) != 1) return internal("cannot build CA extension");
  }
  if (X509_sign(c.get(), issuer_key.get(), issuer_key.signingDigest()) <= 0)
    return internal("cannot sign the CA certificate");
  return c;
}

}  // namespace jitb::ca
