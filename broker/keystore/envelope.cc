#include "broker/keystore/envelope.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "broker/core/encoding.h"
#include "broker/keystore/gcm.h"

namespace jitb::keystore {

namespace {
void appendField(std::string& out, std::string_view v) {
  const auto n = static_cast<uint32_t>(v.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out.append(v);
}

// The data key, wiped when it goes.
struct Dek {
  std::string bytes;
  ~Dek() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

core::Status notOpened() {
  return core::Status(core::Code::kPermissionDenied, "the key does not open with this KEK");
}
}  // namespace

std::string associatedData(const store::KeyMaterialRow& row) {
  std::string aad = "jitbroker-key-material-v1";
  appendField(aad, row.key_id);
  appendField(aad, row.purpose);
  appendField(aad, row.algorithm);
  appendField(aad, std::to_string(row.version));
  return aad;
}

core::Status seal(const Kek& kek, std::string_view secret, store::KeyMaterialRow& row) {
  Dek dek{std::string(kAesKeyBytes, '\0')};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(dek.bytes.data()), kAesKeyBytes) != 1)
    return core::Status(core::Code::kInternal, "no random bytes for a data key");
  const std::string aad = associatedData(row);
  auto sealed = gcmSeal(dek.bytes, secret, aad);
  if (!sealed.ok()) return sealed.status();
  auto wrapped = kek.wrap(dek.bytes, aad);
  if (!wrapped.ok()) return wrapped.status();
  row.ciphertext = core::base64urlEncode(*sealed);
  row.wrapped_dek = core::base64urlEncode(*wrapped);
  return core::okStatus();
}

core::StatusOr<std::string> open(const Kek& kek, const store::KeyMaterialRow& row) {
  auto wrapped = core::base64urlDecode(row.wrapped_dek);
  auto sealed = core::base64urlDecode(row.ciphertext);
  if (!wrapped || !sealed) return notOpened();
  const std::string aad = associatedData(row);
  auto dek = kek.unwrap(*wrapped, aad);
  if (!dek.ok()) return notOpened();
  Dek held{std::move(*dek)};
  auto secret = gcmOpen(held.bytes, *sealed, aad);
  if (!secret.ok()) return notOpened();
  return secret;
}

}  // namespace jitb::keystore
