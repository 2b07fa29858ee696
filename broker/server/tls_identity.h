// The broker's own TLS server identity when the config names none (docs/configuration.md#tls): issued by
// its CA for the listen host (and localhost), reissued at start when it no longer covers them
// or has under a week left.
#pragma once

#include <string>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "ca/authority.h"

namespace jitb::server {

struct TlsIdentity {
  std::string cert_file;  // leaf + issuing CA, PEM
  std::string key_file;   // 0600
  std::string ca_bundle;  // what clients pass as --cacert: the root
};

core::StatusOr<TlsIdentity> ensureServerTls(const ca::CertificateAuthority& authority,
                                            const std::string& data_dir,
                                            const std::vector<std::string>& hosts,
                                            core::TimePoint now);

}  // namespace jitb::server
