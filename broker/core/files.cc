#include "broker/core/files.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "broker/core/encoding.h"

namespace jitb::core {

namespace fs = std::filesystem;

Status ensureDir(const std::string& path, unsigned mode) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return okStatus();
  fs::create_directories(path, ec);
  if (ec) return unavailable("cannot create directory " + path + ": " + ec.message());
  ::chmod(path.c_str(), mode);
  return okStatus();
}

StatusOr<std::string> readFile(const std::string& path) {
  // open(2) rather than a stream: its errno is the reason the message gives.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return notFound("cannot read " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return notFound("cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status writeFileAtomic(const std::string& path, const std::string& data, unsigned mode) {
  std::string tmp = path + ".tmp." + randomHex(6);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  // Exactly `mode`: the broker runs with umask 077, which would also strip a public file's
  // 0644, and a looser umask must not widen anything either.
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return unavailable("cannot set the mode of " + tmp + ": " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return unavailable("cannot write " + path + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return unavailable("cannot replace " + path + ": " + std::strerror(errno));
  }
  return okStatus();
}

void randomBytes(unsigned char* out, size_t n) {
  thread_local struct Pool {
    unsigned char bytes[4096];
    size_t left = 0;
    ~Pool() { OPENSSL_cleanse(bytes, sizeof bytes); }
  } pool;
  if (n == 0) return;  // `out` may be null (an empty vector's data())
  // Without entropy nothing the broker makes is safe: stop.
  if (n > sizeof pool.bytes) {
    if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
    return;
  }
  if (pool.left < n) {
    if (RAND_bytes(pool.bytes, sizeof pool.bytes) != 1) std::abort();
    pool.left = sizeof pool.bytes;
  }
  unsigned char* p = pool.bytes + (sizeof pool.bytes - pool.left);
  std::memcpy(out, p, n);
  OPENSSL_cleanse(p, n);
  pool.left -= n;
}

std::string randomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  randomBytes(buf.data(), bytes);
  return hexEncode(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

std::string timeOrderedHex(std::chrono::system_clock::time_point t, size_t random_bytes) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  char buf[24];
  std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(ms));
  return buf + randomHex(random_bytes);
}

StatusOr<std::string> readTrimmedFile(const std::string& path) {
  auto text = readFile(path);
  if (!text.ok()) return text.status();
  std::string s = std::move(*text);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return invalidArgument(path + " is empty");
  return s;
}

StatusOr<std::string> readOrCreateSecret(const std::string& path, size_t bytes) {
  auto existing = readTrimmedFile(path);
  if (existing.ok() && existing->size() >= 16) return existing;
  // Empty counts as too short; only a file that cannot be read is created.
  if (existing.ok() || existing.status().code() != Code::kNotFound)
    return invalidArgument(path + " holds a secret that is too short");
  std::string secret = randomHex(bytes);
  if (Status st = writeFileAtomic(path, secret + "\n", 0600); !st.ok()) return st;
  return secret;
}

}  // namespace jitb::core
