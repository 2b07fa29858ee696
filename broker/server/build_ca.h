// The composition root's CA step: the certificate authority, the broker's TLS server identity
// and the public chain file that mTLS client certificates are verified against.
#pragma once

#include <memory>
#include <string>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/http/router.h"
#include "broker/leases/lease_manager.h"
#include "broker/metrics/registry.h"
#include "broker/pki/pki_service.h"
#include "broker/server/build_keys.h"
#include "broker/server/config.h"
#include "broker/server/tls_identity.h"
#include "broker/store/store.h"
#include "ca/authority.h"

namespace jitb::server {

struct CaParts {
  std::unique_ptr<ca::CertificateAuthority> authority;
  TlsIdentity tls;        // the configured one, or one this CA issued
  std::string client_ca;  // data_dir/ca/chain.pem, 0644
};

// Loads the CA from data_dir/ca, creating it on first start (cfg.public_url must be final: it
// is the base of the CRL and OCSP URLs). Fails with a message for the operator. With `shared`
// (keys.kek_file), the CA is the store's, made by the first replica to start; a brought
// intermediate (ca.intermediate_cert_file) is still read from its files.
core::StatusOr<CaParts> buildCa(const Config& cfg, core::TimePoint now,
                                SharedKeyStore* shared = nullptr);

// The CA's services over the store (certificates, CRL, OCSP), its routes added to `router`; a
// revoked certificate lease makes its CRL stale.
std::unique_ptr<pki::PkiService> buildPki(const Config& cfg, ca::CertificateAuthority& authority,
                                          store::Store& store, const core::Clock& clock,
                                          metrics::Registry& registry, leases::LeaseManager& leases,
                                          http::Router& router);

}  // namespace jitb::server
