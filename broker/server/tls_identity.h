// The broker's own TLS server identity when the config names none (CONTRACT.md §1).
#pragma once

#include <string>
#include <vector>

#include "broker/core/status.h"

namespace jitb::server {

struct TlsIdentity {
  std::string cert_file;  // leaf + chain, PEM
  std::string key_file;   // 0600
  std::string ca_bundle;  // what clients pass as --cacert
};

// Reuses data_dir/tls/{server.crt,server.key,ca.pem} when they exist and cover `hosts`;
// otherwise creates them. Hosts are IP addresses or DNS names.
core::StatusOr<TlsIdentity> ensureServerTls(const std::string& data_dir,
                                            const std::vector<std::string>& hosts);

}  // namespace jitb::server
