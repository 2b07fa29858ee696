#include "broker/server/build_keys.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace jitb::server {
namespace {

Config configIn(const std::string& dir) {
  Config cfg;
  cfg.data_dir = dir;
  return cfg;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(BuildKeys, ABadJwksFileFailsNamingTheEntryAndTheFile) {
  jitb::testing::TempDir dir;
  Config cfg = configIn(dir.path());
  const std::string jwks = dir.path() + "/github.jwks.json";
  write(jwks, "{\"keys\": \"not a list\"}");
  cfg.trust.push_back({"https://issuer.example", jwks, "", "jitbroker", ""});
  auto keys = buildKeys(cfg, std::chrono::system_clock::now());
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("trust entry https://issuer.example: " + jwks + ": "),
            std::string::npos)
      << keys.status().message();
}

TEST(BuildKeys, AMissingJwksFileFailsNamingTheFile) {
  jitb::testing::TempDir dir;
  Config cfg = configIn(dir.path());
  cfg.trust.push_back({"https://issuer.example", dir.path() + "/absent.json", "", "jitbroker", ""});
  auto keys = buildKeys(cfg, std::chrono::system_clock::now());
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("absent.json"), std::string::npos)
      << keys.status().message();
}

TEST(BuildKeys, MakesTheSignerOnceAndTheDevIssuerOnlyInDevMode) {
  jitb::testing::TempDir dir;
  Config cfg = configIn(dir.path());
  auto first = buildKeys(cfg, std::chrono::system_clock::now());
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_NE(first->signer, nullptr);
  EXPECT_EQ(first->dev_issuer, nullptr);
  ASSERT_NE(first->trust, nullptr);
  // A second start loads the same signing key.
  auto again = buildKeys(cfg, std::chrono::system_clock::now());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->signer->kid(), first->signer->kid());

  cfg.dev = true;
  auto dev = buildKeys(cfg, std::chrono::system_clock::now());
  ASSERT_TRUE(dev.ok()) << dev.status().message();
  ASSERT_NE(dev->dev_issuer, nullptr);
  EXPECT_NE(dev->dev_issuer->kid(), dev->signer->kid());
}

}  // namespace
}  // namespace jitb::server
