// Envelope encryption of one key row: the secret sealed (AES-256-GCM) under a data key of its
// own, the data key wrapped by the KEK. Both seals carry the same associated data, which binds
// the row's key id, purpose, algorithm and version, so that a ciphertext moved to another row
// (or a row relabelled) no longer opens.
#pragma once

#include <string>
#include <string_view>

#include "broker/core/status.h"
#include "broker/keystore/kek.h"
#include "broker/store/records.h"

namespace jitb::keystore {

// Each field as a 4-byte big-endian length and its bytes, after a label and format version:
// no two rows' fields can run together into the same bytes.
std::string associatedData(const store::KeyMaterialRow& row);

// Fills row.wrapped_dek and row.ciphertext (base64url) for `secret`, with a fresh data key.
core::Status seal(const Kek& kek, std::string_view secret, store::KeyMaterialRow& row);

// The secret of a sealed row; PermissionDenied when either seal does not open.
core::StatusOr<std::string> open(const Kek& kek, const store::KeyMaterialRow& row);

}  // namespace jitb::keystore
