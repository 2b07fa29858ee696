#include "broker/keystore/kek.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/keystore/gcm.h"

namespace jitb::keystore {

namespace {
core::Status refuse(const std::string& path, const std::string& why) {
  return core::invalidArgument("keys.kek_file " + path + ": " + why);
}
}  // namespace

core::StatusOr<std::unique_ptr<FileKek>> FileKek::load(const std::string& path) {
  // Opened once and checked through the descriptor, so the file checked is the file read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return refuse(path, "cannot be opened (it must be a regular file, not a link)");
  struct stat st;
  std::string bytes(kAesKeyBytes + 1, '\0');
  ssize_t n = -1;
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular && (st.st_mode & 077) == 0) n = ::read(fd, bytes.data(), bytes.size());
  ::close(fd);
  if (!regular) return refuse(path, "is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return refuse(path, std::string("has mode ") + mode + "; it must be 0600 (chmod 600 " +
                            path + ")");
  }
  if (n != static_cast<ssize_t>(kAesKeyBytes)) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return refuse(path, "must hold exactly 32 bytes (head -c 32 /dev/urandom > FILE)");
  }
  bytes.resize(kAesKeyBytes);
  return fromBytes(std::move(bytes), path);
}

core::StatusOr<std::unique_ptr<FileKek>> FileKek::fromBytes(std::string bytes, std::string name) {
  if (bytes.size() != kAesKeyBytes) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return core::invalidArgument("a KEK has exactly 32 bytes");
  }
  return std::unique_ptr<FileKek>(new FileKek(std::move(bytes), std::move(name)));
}

FileKek::~FileKek() { OPENSSL_cleanse(key_.data(), key_.size()); }

core::StatusOr<std::string> FileKek::wrap(std::string_view dek, std::string_view aad) const {
  return gcmSeal(key_, dek, aad);
}

core::StatusOr<std::string> FileKek::unwrap(std::string_view wrapped, std::string_view aad) const {
  return gcmOpen(key_, wrapped, aad);
}

}  // namespace jitb::keystore
