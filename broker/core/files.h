// Small file helpers with the permissions a security tool needs.
#pragma once

#include <string>

#include "broker/core/status.h"

namespace jitb::core {

// mkdir -p; the last component gets `mode` when created.
Status ensureDir(const std::string& path, unsigned mode = 0700);
StatusOr<std::string> readFile(const std::string& path);
// Writes to a temp file in the same folder with `mode`, fsyncs, then renames over `path`, so a
// reader sees the old file or the new one, never half of one.
Status writeFileAtomic(const std::string& path, const std::string& data, unsigned mode = 0600);
// Reads a secret file, or creates it (0600) with `bytes` random bytes in hex on first use.
StatusOr<std::string> readOrCreateSecret(const std::string& path, size_t bytes = 32);
// Hex of `bytes` bytes from the OpenSSL CSPRNG.
std::string randomHex(size_t bytes);

}  // namespace jitb::core
