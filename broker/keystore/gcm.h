// AES-256-GCM with a random 96-bit nonce per encryption (OpenSSL 3 EVP), the one cipher of the
// key store. Sealed form: nonce (12) | ciphertext | tag (16). Internal to keystore/.
#pragma once

#include <string>
#include <string_view>

#include "broker/core/status.h"

namespace jitb::keystore {

inline constexpr size_t kAesKeyBytes = 32;

// InvalidArgument unless `key` is 32 bytes.
core::StatusOr<std::string> gcmSeal(std::string_view key, std::string_view plaintext,
                                    std::string_view aad);
// PermissionDenied when the tag does not verify (wrong key, other associated data, any changed
// byte): OpenSSL compares the tag in constant time.
core::StatusOr<std::string> gcmOpen(std::string_view key, std::string_view sealed,
                                    std::string_view aad);

}  // namespace jitb::keystore
