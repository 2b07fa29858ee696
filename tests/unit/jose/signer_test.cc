#include "broker/jose/signer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "broker/core/files.h"
#include "broker/jose/verifier.h"

namespace jitb::jose {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class SignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jitb-signer-" + core::randomHex(6));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<TokenSigner> open(core::TimePoint at) {
    auto s = TokenSigner::loadOrCreate(dir_.string(), at);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  fs::path dir_;
  core::TimePoint now_ = std::chrono::system_clock::from_time_t(1795456800);
};

TEST_F(SignerTest, SignedTokensVerifyAgainstThePublishedJwks) {
  auto s = open(now_);
  json::object claims{{"iss", "https://broker"}, {"sub", "x"}, {"aud", "deploy-api"},
                      {"exp", 1795456800 + 60}};
  auto t = s->sign(claims);
  ASSERT_TRUE(t.ok());
  auto header = decodeCompact(*t)->header;
  EXPECT_EQ(header.at("alg").as_string(), "ES256");
  EXPECT_EQ(header.at("kid").as_string(), s->kid());
  auto set = KeySet::fromJson(s->jwks());
  ASSERT_TRUE(set.ok());
  auto v = verifyJwt(*t, *set, {"https://broker", "deploy-api"}, now_);
  EXPECT_TRUE(v.ok()) << v.status().message();
  json::object jwks = s->jwks();
  for (const auto& k : jwks.at("keys").as_array()) EXPECT_FALSE(k.as_object().contains("d"));
}

TEST_F(SignerTest, KeysPersistWithMode0600AndTheSameKid) {
  std::string kid = open(now_)->kid();
  EXPECT_EQ(open(now_ + std::chrono::hours(1))->kid(), kid);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.status().permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(SignerTest, RotationKeepsThePreviousKeyPublishedForADay) {
  auto s = open(now_);
  std::string old_kid = s->kid();
  auto old_token = s->sign({{"iss", "i"}, {"sub", "x"}, {"exp", 1795456800 + 600}});
  ASSERT_TRUE(s->rotate(now_ + std::chrono::minutes(1)).ok());
  EXPECT_NE(s->kid(), old_kid);
  EXPECT_EQ(s->jwks().at("keys").as_array().size(), 2u);
  auto set = s->keySet();
  EXPECT_TRUE(verifyJwt(*old_token, *set, {"i", ""}, now_).ok());
  auto later = open(now_ + std::chrono::hours(25));  // a day after the successor appeared
  EXPECT_EQ(later->jwks().at("keys").as_array().size(), 1u);
  EXPECT_EQ(later->kid(), s->kid());
}

TEST_F(SignerTest, DescribeShowsNoKeyMaterial) {
  auto s = open(now_);
  std::string d = s->describe();
  EXPECT_NE(d.find(s->kid()), std::string::npos);
  for (const auto& e : fs::directory_iterator(dir_)) {
    std::string pem = *core::readFile(e.path().string());
    std::string body = pem.substr(pem.find('\n') + 1, 40);
    EXPECT_EQ(d.find(body), std::string::npos);
  }
}

}  // namespace
}  // namespace jitb::jose
