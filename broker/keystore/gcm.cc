#include "broker/keystore/gcm.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

namespace jitb::keystore {

namespace {
constexpr size_t kNonceBytes = 12, kTagBytes = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
}  // namespace

core::StatusOr<std::string> gcmSeal(std::string_view key, std::string_view plaintext,
                                    std::string_view aad) {
  if (key.size() != kAesKeyBytes) return core::invalidArgument("an AES-256 key has 32 bytes");
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  bool ok = ctx && RAND_bytes(o, kNonceBytes) == 1 &&
            EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), u8(key), o, nullptr) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), o + kNonceBytes, &len, u8(plaintext),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), o + kNonceBytes + len, &fin) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                o + kNonceBytes + plaintext.size()) == 1;
  if (!ok) return core::Status(core::Code::kInternal, "AES-256-GCM encryption failed");
  return out;
}

core::StatusOr<std::string> gcmOpen(std::string_view key, std::string_view sealed,
                                    std::string_view aad) {
  if (key.size() != kAesKeyBytes) return core::invalidArgument("an AES-256 key has 32 bytes");
  if (sealed.size() < kNonceBytes + kTagBytes)
    return core::Status(core::Code::kPermissionDenied, "sealed data is too short");
  size_t n = sealed.size() - kNonceBytes - kTagBytes;
  std::string out(n, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::string tag(sealed.substr(kNonceBytes + n));
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  bool ok = ctx &&
            EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), u8(key), u8(sealed), nullptr) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), o, &len, u8(sealed) + kNonceBytes, static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1;
  // Final checks the tag; only then is the plaintext anyone's.
  if (!ok || EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return core::Status(core::Code::kPermissionDenied, "the sealed data does not open with this key");
  }
  return out;
}

}  // namespace jitb::keystore
