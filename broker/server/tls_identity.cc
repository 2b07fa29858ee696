#include "broker/server/tls_identity.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <filesystem>

#include "broker/core/files.h"

namespace jitb::server {

namespace fs = std::filesystem;

namespace {

bool isIp(const std::string& h) {
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

// True when the leaf in `pem` covers every host, was issued by this CA's intermediate and has
// more than a week left.
bool stillGood(const std::string& pem, const std::string& issuer_pem,
               const std::vector<std::string>& hosts, core::TimePoint now) {
  ca::BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ca::X509Ptr cert(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  ca::BioPtr ib(BIO_new_mem_buf(issuer_pem.data(), static_cast<int>(issuer_pem.size())));
  ca::X509Ptr issuer(PEM_read_bio_X509(ib.get(), nullptr, nullptr, nullptr));
  if (!cert || !issuer || X509_check_issued(issuer.get(), cert.get()) != X509_V_OK) return false;
  time_t week = std::chrono::system_clock::to_time_t(now + std::chrono::hours(24 * 7));
  if (X509_cmp_time(X509_get0_notAfter(cert.get()), &week) <= 0) return false;
  for (const auto& h : hosts) {
    bool match = isIp(h) ? X509_check_ip_asc(cert.get(), h.c_str(), 0) == 1
                         : X509_check_host(cert.get(), h.c_str(), h.size(), 0, nullptr) == 1;
    if (!match) return false;
  }
  return true;
}

}  // namespace

core::StatusOr<TlsIdentity> ensureServerTls(const ca::CertificateAuthority& authority,
                                            const std::string& data_dir,
                                            const std::vector<std::string>& hosts,
                                            core::TimePoint now) {
  std::string dir = (fs::path(data_dir) / "tls").string();
  if (core::Status st = core::ensureDir(dir); !st.ok()) return st;
  TlsIdentity id{dir + "/server.crt", dir + "/server.key", dir + "/ca.pem"};
  const auto& chain = authority.chainPem();
  std::string bundle = authority.rootPem().empty() ? chain.front() : authority.rootPem();
  auto existing = core::readFile(id.cert_file);
  auto existing_bundle = core::readFile(id.ca_bundle);
  if (existing.ok() && fs::exists(id.key_file) && existing_bundle.ok() && *existing_bundle == bundle &&
      stillGood(*existing, chain.front(), hosts, now))
    return id;

  ca::IssuanceProfile p;
  p.kind = ca::ProfileKind::kServer;
  p.common_name = hosts.front();
  for (const auto& h : hosts) (isIp(h) ? p.ip_sans : p.dns_sans).push_back(h);
  p.not_after = now + std::chrono::hours(24 * 30);
  auto issued = authority.issueWithServerKey(p, ca::KeyAlgorithm::kEcP256, now);
  if (!issued.ok()) return core::internalError("server certificate: " + issued.error().message);
  // Key first: a crash between the writes leaves a key without a cert, which is reissued.
  if (core::Status st = core::writeFileAtomic(id.key_file, issued->private_key_pem, 0600); !st.ok())
    return st;
  if (core::Status st = core::writeFileAtomic(id.cert_file, issued->certificate.pem + chain.front(), 0600);
      !st.ok())
    return st;
  // The bundle clients are pointed at (JITBROKER_CA) is public; the rest is owner-only.
  if (core::Status st = core::writeFileAtomic(id.ca_bundle, bundle, 0644); !st.ok()) return st;
  return id;
}

}  // namespace jitb::server
