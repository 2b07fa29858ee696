// The CAs of every replica, from the store: the X.509 CA (purpose "ca": the root and the issuing
// intermediate, one row, so that a replica never sees one without the other) and the SSH CA
// (purpose "ssh_ca"). Made by whichever replica starts first on an empty store; the others read
// that one back, so the chain, the CRL's issuer and the SSH CA line are the same everywhere.
#pragma once

#include <memory>

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
core::StatusOr<std::unique_ptr<ca::CertificateAuthority>> loadOrCreateCa(SharedKeys& keys,
                                                                         const ca::CaConfig& cfg,
                                                                         core::TimePoint now);

// The stored SSH CA key, or a new one of `algorithm` (kEd25519 or kRsa3072).
core::StatusOr<ca::SshCa> loadOrCreateSshCa(SharedKeys& keys, ca::KeyAlgorithm algorithm,
                                            core::TimePoint now);

}  // namespace jitb::keystore
