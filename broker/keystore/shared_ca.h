// The CAs of every replica, from the store: the X.509 CA (purpose "ca": the root and the issuing
// intermediate, one row, so that a replica never sees one without the other) and the SSH CA
// (purpose "ssh_ca"). Made by whichever replica starts first on an empty store; the others read
// that one back, so the chain, the CRL's issuer and the SSH CA line are the same everywhere.
#pragma once

#include <memory>
#include <string>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/keystore/shared_keys.h"
#include "ca/authority.h"
#include "ca/ssh_ca.h"

namespace jitb::keystore {

inline constexpr const char* kCaPurpose = "ca";
inline constexpr const char* kSshCaPurpose = "ssh_ca";

// The stored CA, or a new one of cfg.algorithm (a stored CA keeps the algorithm it was made
// with). cfg.dir is neither read nor written.
//
// `import_dir` (data_dir/ca of a broker that ran without a KEK; empty: none) is read first: on
// a store without a CA its CA is sealed into the store rather than a new one made, and logged
// as `keys.imported`. A part of a CA there is an error. When the store already holds another
// CA the start is refused (Conflict, `keys.import_conflict` logged): the certificates that
// folder's CA issued would no longer be revocable, as the store's CA signs the CRL and OCSP.
core::StatusOr<std::unique_ptr<ca::CertificateAuthority>> loadOrCreateCa(
    SharedKeys& keys, const ca::CaConfig& cfg, core::TimePoint now,
    const std::string& import_dir = "");

// The stored SSH CA key, or a new one of `algorithm` (kEd25519 or kRsa3072). `import_file`
// (data_dir/ca/ssh_ca.key; empty: none) is imported and refused as for the CA above: the KRL
// the store's CA signs would not revoke the certificates the other key signed.
core::StatusOr<ca::SshCa> loadOrCreateSshCa(SharedKeys& keys, ca::KeyAlgorithm algorithm,
                                            core::TimePoint now,
                                            const std::string& import_file = "");

}  // namespace jitb::keystore
