// Small file helpers with the permissions a security tool needs.
#pragma once

#include <chrono>
#include <string>

#include "broker/core/status.h"

namespace jitb::core {

// mkdir -p; the last component gets `mode` when created.
Status ensureDir(const std::string& path, unsigned mode = 0700);
StatusOr<std::string> readFile(const std::string& path);
// A file that holds one value (a secret, a token): its text without trailing newlines, carriage
// returns and spaces. NotFound as readFile() when it cannot be read; InvalidArgument
// ("<path> is empty") when nothing is left.
StatusOr<std::string> readTrimmedFile(const std::string& path);
// Writes to a temp file in the same folder with exactly `mode` (whatever the umask), fsyncs, then renames over `path`, so a
// reader sees the old file or the new one, never half of one.
Status writeFileAtomic(const std::string& path, const std::string& data, unsigned mode = 0600);
// Reads a secret file, or creates it (0600) with `bytes` random bytes in hex on first use.
StatusOr<std::string> readOrCreateSecret(const std::string& path, size_t bytes = 32);
// `n` bytes from the OpenSSL CSPRNG, drawn 4 KiB at a time per thread: one RAND_bytes call
// costs about 4 us on the benchmark's VM (a lock, a getpid for fork detection, the DRBG) and
// each token needs two. Bytes are wiped from the pool as they are handed out. Not for a child
// of fork() without exec (it would repeat its parent's bytes); the broker forks none.
void randomBytes(unsigned char* out, size_t n);
// Hex of `bytes` bytes from randomBytes.
std::string randomHex(size_t bytes);
// 12 hex digits of milliseconds since the epoch, then randomHex(random_bytes): identifiers that
// sort by time, so the store's indexes on them grow at one end (a group commit of N leases
// then dirties a few pages, not one random page per lease). With 0 random bytes: the floor of
// every such identifier made from that millisecond on.
std::string timeOrderedHex(std::chrono::system_clock::time_point t, size_t random_bytes);

}  // namespace jitb::core
