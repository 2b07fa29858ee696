// The key-encryption key (KEK) that wraps every shared key's data key. An interface so that a
// KMS or a PKCS#11 token can hold it later without the key store changing; FileKek is the one
// implementation today (keys.kek_file: 32 random bytes, owner-only, the same on every replica).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "broker/core/status.h"

namespace jitb::keystore {

class Kek {
 public:
  virtual ~Kek() = default;
  // Seals a data key; `aad` binds it to the row it belongs to.
  virtual core::StatusOr<std::string> wrap(std::string_view dek, std::string_view aad) const = 0;
  // PermissionDenied when it does not open: another KEK, another row's aad, a changed byte.
  virtual core::StatusOr<std::string> unwrap(std::string_view wrapped,
                                             std::string_view aad) const = 0;
  // For messages and logs: where the KEK is, never its bytes.
  virtual std::string describe() const = 0;
};

class FileKek final : public Kek {
 public:
  // InvalidArgument, naming the file and the fix, unless it is a regular file of exactly 32
  // bytes that neither group nor others may read or write.
  static core::StatusOr<std::unique_ptr<FileKek>> load(const std::string& path);
  // For tests and other holders: exactly 32 bytes.
  static core::StatusOr<std::unique_ptr<FileKek>> fromBytes(std::string bytes, std::string name);
  ~FileKek() override;

  core::StatusOr<std::string> wrap(std::string_view dek, std::string_view aad) const override;
  core::StatusOr<std::string> unwrap(std::string_view wrapped,
                                     std::string_view aad) const override;
  std::string describe() const override { return "FileKek(" + name_ + ")"; }

 private:
  FileKek(std::string key, std::string name) : key_(std::move(key)), name_(std::move(name)) {}
  std::string key_;
  std::string name_;
};

}  // namespace jitb::keystore
