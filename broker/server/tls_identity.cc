#include "broker/server/tls_identity.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>

#include "broker/core/files.h"

namespace jitb::server {

namespace fs = std::filesystem;

namespace {
template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;

std::string bioString(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

bool isIp(const std::string& h) {
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

bool addExt(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// Self-signed P-256 server certificate. Startup-only, so the config-string extension API is
// fine here (it is not on any request path).
core::StatusOr<std::pair<std::string, std::string>> makeSelfSigned(
    const std::vector<std::string>& hosts) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!key || !cert) return core::internalError("key generation failed");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("jitbroker dev server"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  std::string san;
  for (const auto& h : hosts) {
    if (!san.empty()) san += ",";
    san += (isIp(h) ? "IP:" : "DNS:") + h;
  }
  bool ok = addExt(cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
            addExt(cert.get(), NID_key_usage, "critical,digitalSignature") &&
            addExt(cert.get(), NID_ext_key_usage, "serverAuth") &&
            addExt(cert.get(), NID_subject_key_identifier, "hash") &&
            addExt(cert.get(), NID_subject_alt_name, san);
  if (!ok || X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    return core::internalError("cannot build the server certificate");
  BioPtr cb(BIO_new(BIO_s_mem())), kb(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cb.get(), cert.get());
  PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return std::make_pair(bioString(cb.get()), bioString(kb.get()));
}

// True when the PEM certificate's SANs include every host.
bool covers(const std::string& pem, const std::vector<std::string>& hosts) {
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!cert) return false;
  if (X509_cmp_time(X509_get0_notAfter(cert.get()), nullptr) <= 0) return false;
  for (const auto& h : hosts) {
    bool match = isIp(h) ? X509_check_ip_asc(cert.get(), h.c_str(), 0) == 1
                         : X509_check_host(cert.get(), h.c_str(), h.size(), 0, nullptr) == 1;
    if (!match) return false;
  }
  return true;
}
}  // namespace

core::StatusOr<TlsIdentity> ensureServerTls(const std::string& data_dir,
                                            const std::vector<std::string>& hosts) {
  std::string dir = (fs::path(data_dir) / "tls").string();
  if (core::Status st = core::ensureDir(dir); !st.ok()) return st;
  TlsIdentity id{dir + "/server.crt", dir + "/server.key", dir + "/ca.pem"};
  auto existing = core::readFile(id.cert_file);
  if (existing.ok() && fs::exists(id.key_file) && fs::exists(id.ca_bundle) &&
      covers(*existing, hosts))
    return id;
  auto made = makeSelfSigned(hosts);
  if (!made.ok()) return made.status();
  // Key first: a crash between the writes leaves a key without a cert, which is regenerated.
  if (core::Status st = core::writeFileAtomic(id.key_file, made->second, 0600); !st.ok()) return st;
  if (core::Status st = core::writeFileAtomic(id.cert_file, made->first, 0644); !st.ok()) return st;
  if (core::Status st = core::writeFileAtomic(id.ca_bundle, made->first, 0644); !st.ok()) return st;
  return id;
}

}  // namespace jitb::server
