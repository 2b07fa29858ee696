#include "broker/server/build_ca.h"

#include <chrono>
#include <vector>

#include "broker/core/files.h"
#include "broker/keystore/shared_ca.h"
#include "broker/server/build_support.h"

namespace jitb::server {

core::StatusOr<CaParts> buildCa(const Config& cfg, core::TimePoint now, SharedKeyStore* shared) {
  ca::CaConfig ca_cfg;
  ca_cfg.dir = cfg.data_dir + "/ca";
  ca_cfg.algorithm = *ca::keyAlgorithmFromName(cfg.ca.algorithm);
  ca_cfg.public_url = cfg.public_url;
  ca_cfg.backdate = std::chrono::duration_cast<std::chrono::seconds>(cfg.ca.backdate);
  ca_cfg.intermediate_cert_file = cfg.ca.intermediate_cert_file;
  ca_cfg.intermediate_key_file = cfg.ca.intermediate_key_file;
  ca_cfg.root_cert_file = cfg.ca.root_cert_file;
  CaParts parts;
  if (shared && cfg.ca.intermediate_cert_file.empty()) {
    // Still made: the public chain file is written there.
    if (core::Status st = core::ensureDir(ca_cfg.dir); !st.ok()) return st;
    auto authority = keystore::loadOrCreateCa(*shared->keys, ca_cfg, now, ca_cfg.dir);
    if (!authority.ok()) return authority.status();
    parts.authority = std::move(*authority);
  } else {
    auto authority = ca::CertificateAuthority::bootstrap(ca_cfg, now);
    if (!authority.ok())
      return core::Status(core::Code::kInternal, "CA: " + authority.error().message);
    parts.authority = std::move(*authority);
  }
  if (cfg.ca.intermediate_cert_file.empty() && !parts.authority->rootKeyOnline())
    logLine(
        "{\"event\":\"ca.root_key_offline\",\"message\":\"the root CA key is offline; "
        "issuing, CRLs and OCSP use the intermediate alone\"}");
  if (cfg.tls) {
    parts.tls = {cfg.tls->cert_file, cfg.tls->key_file, cfg.tls->cert_file};
  } else {
    std::vector<std::string> hosts = {cfg.listen_host};
    if (cfg.listen_host != "localhost") hosts.push_back("localhost");
    auto made = ensureServerTls(*parts.authority, cfg.data_dir, hosts, now);
    if (!made.ok()) return made.status();
    parts.tls = *made;
  }
  // Client certificates from our own CA are accepted (optional) for mTLS callers. The chain is
  // public (0644, docs/operations.md); everything else in data_dir is owner-only.
  parts.client_ca = cfg.data_dir + "/ca/chain.pem";
  std::string chain_text;
  for (const auto& pem : parts.authority->chainPem()) chain_text += pem;
  if (core::Status st = core::writeFileAtomic(parts.client_ca, chain_text, 0644); !st.ok())
    return st;
  return parts;
}

std::unique_ptr<pki::PkiService> buildPki(const Config& cfg, ca::CertificateAuthority& authority,
                                          store::Store& store, const core::Clock& clock,
                                          metrics::Registry& registry, leases::LeaseManager& leases,
                                          http::Router& router) {
  auto pki = std::make_unique<pki::PkiService>(
      authority, store, clock, registry,
      std::chrono::duration_cast<std::chrono::seconds>(cfg.ca.crl_next_update), cfg.public_url);
  pki->addRoutes(router);
  leases.addListener(
      [p = pki.get()](const std::vector<store::EndedLease>& ended, store::LeaseState state) {
        if (state != store::LeaseState::kRevoked) return;
        for (const auto& l : ended)
          if (l.kind == store::LeaseKind::kCertificate) return p->certificatesRevoked();
      });
  return pki;
}

}  // namespace jitb::server
