// Seals and the file KEK: what opens, and everything that must not.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "broker/core/encoding.h"
#include "broker/keystore/envelope.h"
#include "broker/keystore/gcm.h"
#include "broker/keystore/kek.h"
#include "tests/support/temp_dir.h"

namespace jitb::keystore {
namespace {

std::unique_ptr<Kek> kekOf(char fill) {
  return FileKek::fromBytes(std::string(32, fill), "test").value();
}

store::KeyMaterialRow row(std::string id, std::string purpose = "token_signing",
                          int64_t version = 1) {
  store::KeyMaterialRow r;
  r.key_id = std::move(id);
  r.purpose = std::move(purpose);
  r.algorithm = "ES256";
  r.version = version;
  return r;
}

TEST(Gcm, SealOpensOnlyWithItsKeyAndAssociatedData) {
  std::string key(32, 'k');
  auto sealed = gcmSeal(key, "secret bytes", "aad");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 12 + 12 + 16u);
  EXPECT_EQ(sealed->find("secret bytes"), std::string::npos);
  EXPECT_EQ(*gcmOpen(key, *sealed, "aad"), "secret bytes");
  EXPECT_EQ(gcmOpen(std::string(32, 'x'), *sealed, "aad").status().code(),
            core::Code::kPermissionDenied);
  EXPECT_EQ(gcmOpen(key, *sealed, "aae").status().code(), core::Code::kPermissionDenied);
  EXPECT_EQ(gcmOpen(key, sealed->substr(0, 20), "aad").status().code(),
            core::Code::kPermissionDenied);
  EXPECT_EQ(gcmSeal("short", "x", "").status().code(), core::Code::kInvalidArgument);
}

TEST(Gcm, EveryByteIsCoveredAndNoncesAreFresh) {
  std::string key(32, 'k');
  auto a = *gcmSeal(key, "same text", "aad");
  auto b = *gcmSeal(key, "same text", "aad");
  EXPECT_NE(a.substr(0, 12), b.substr(0, 12));  // a random 96-bit nonce each time
  EXPECT_NE(a, b);
  for (size_t i = 0; i < a.size(); ++i) {
    std::string t = a;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    EXPECT_FALSE(gcmOpen(key, t, "aad").ok()) << "byte " << i;
  }
}

TEST(Envelope, RowRoundTripsAndHoldsNoPlaintext) {
  auto kek = kekOf('a');
  auto r = row("kid-1");
  ASSERT_TRUE(seal(*kek, "-----BEGIN PRIVATE KEY-----xyz", r).ok());
  EXPECT_EQ(r.ciphertext.find("PRIVATE"), std::string::npos);
  EXPECT_TRUE(core::base64urlDecode(r.wrapped_dek).has_value());
  EXPECT_EQ(*open(*kek, r), "-----BEGIN PRIVATE KEY-----xyz");
}

TEST(Envelope, AnotherKekDoesNotOpenIt) {
  auto r = row("kid-1");
  ASSERT_TRUE(seal(*kekOf('a'), "secret", r).ok());
  EXPECT_EQ(open(*kekOf('b'), r).status().code(), core::Code::kPermissionDenied);
}

TEST(Envelope, CiphertextMovedToAnotherRowDoesNotOpen) {
  auto kek = kekOf('a');
  auto a = row("kid-a"), b = row("kid-b", "token_signing", 2);
  ASSERT_TRUE(seal(*kek, "secret A", a).ok());
  ASSERT_TRUE(seal(*kek, "secret B", b).ok());
  // Row b's id with a's sealed fields: the swap an attacker with write access would try.
  auto swapped = b;
  swapped.ciphertext = a.ciphertext;
  swapped.wrapped_dek = a.wrapped_dek;
  EXPECT_FALSE(open(*kek, swapped).ok());
  // Only the ciphertext moved (a's data key under b's wrapping) fails too.
  swapped = b;
  swapped.ciphertext = a.ciphertext;
  EXPECT_FALSE(open(*kek, swapped).ok());
  // Relabelled rows: each bound field matters.
  for (auto change : {+[](store::KeyMaterialRow& r) { r.key_id += "x"; },
                      +[](store::KeyMaterialRow& r) { r.purpose = "ca"; },
                      +[](store::KeyMaterialRow& r) { r.algorithm = "ES384"; },
                      +[](store::KeyMaterialRow& r) { r.version = 7; }}) {
    auto t = a;
    change(t);
    EXPECT_FALSE(open(*kek, t).ok());
  }
  EXPECT_EQ(*open(*kek, a), "secret A");
}

TEST(Envelope, FieldsCannotRunTogether) {
  auto a = row("ab", "c"), b = row("a", "bc");
  EXPECT_NE(associatedData(a), associatedData(b));
}

TEST(Envelope, TamperedFieldsDoNotOpen) {
  auto kek = kekOf('a');
  auto r = row("kid-1");
  ASSERT_TRUE(seal(*kek, "secret", r).ok());
  for (std::string* field : {&r.ciphertext, &r.wrapped_dek}) {
    std::string saved = *field;
    auto raw = *core::base64urlDecode(*field);
    raw[raw.size() / 2] = static_cast<char>(raw[raw.size() / 2] ^ 0x80);
    *field = core::base64urlEncode(raw);
    EXPECT_FALSE(open(*kek, r).ok());
    *field = "not base64!";
    EXPECT_FALSE(open(*kek, r).ok());
    *field = saved;
  }
  EXPECT_TRUE(open(*kek, r).ok());
}

class FileKekTest : public ::testing::Test {
 protected:
  std::string write(const std::string& bytes, mode_t mode) {
    std::string p = dir_.path() + "/kek";
    std::ofstream(p, std::ios::binary) << bytes;
    ::chmod(p.c_str(), mode);
    return p;
  }
  jitb::testing::TempDir dir_;
};

TEST_F(FileKekTest, LoadsThirtyTwoOwnerOnlyBytes) {
  auto kek = FileKek::load(write(std::string(32, '\x07'), 0600));
  ASSERT_TRUE(kek.ok()) << kek.status().message();
  auto r = row("k");
  ASSERT_TRUE(seal(**kek, "s", r).ok());
  EXPECT_EQ(*open(*kekOf('\x07'), r), "s");  // the file's bytes are the key
  EXPECT_EQ((*kek)->describe().find('\x07'), std::string::npos);
  EXPECT_TRUE(FileKek::load(write(std::string(32, '\x07'), 0400)).ok());
}

TEST_F(FileKekTest, RefusesAnOpenModeAWrongSizeAndNoFile) {
  auto loose = FileKek::load(write(std::string(32, 'a'), 0644));
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.status().message().find("has mode 0644; it must be 0600"), std::string::npos)
      << loose.status().message();
  for (size_t n : {0, 31, 33, 64}) {
    auto st = FileKek::load(write(std::string(n, 'a'), 0600));
    ASSERT_FALSE(st.ok()) << n;
    EXPECT_NE(st.status().message().find("exactly 32 bytes"), std::string::npos);
  }
  EXPECT_FALSE(FileKek::load(dir_.path() + "/none").ok());
  EXPECT_FALSE(FileKek::load(dir_.path()).ok());  // a folder
  std::string target = write(std::string(32, 'a'), 0600), link = dir_.path() + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_FALSE(FileKek::load(link).ok());
}

}  // namespace
}  // namespace jitb::keystore
