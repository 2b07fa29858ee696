#include "broker/server/config_check.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/temp_dir.h"

namespace jitb::server {
namespace {

bool anyStartsWith(const std::vector<std::string>& lines, const std::string& prefix) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

TEST(CheckServeConfig, AnUnreachablePostgresServerIsAProblemEvenOffline) {
  jitb::testing::TempDir dir;
  Config cfg;
  cfg.data_dir = dir.path();
  cfg.policies_dir = dir.path();
  cfg.postgres_url = "postgresql://jb:s3cret@127.0.0.1:1/jitbroker?connect_timeout=2";
  std::vector<std::string> notes;
  auto problems = checkServeConfig(cfg, CheckOptions{.offline = true}, &notes);
  EXPECT_TRUE(anyStartsWith(problems, "'store.postgres': ")) << ::testing::PrintToString(problems);
  EXPECT_TRUE(notes.empty()) << ::testing::PrintToString(notes);
  for (const auto& p : problems) EXPECT_EQ(p.find("s3cret"), std::string::npos) << p;
}

TEST(CheckServeConfig, ASqliteStoreNeedsNoServerAndAddsNoNote) {
  jitb::testing::TempDir dir;
  Config cfg;
  cfg.data_dir = dir.path();
  cfg.policies_dir = dir.path();
  std::vector<std::string> notes;
  auto problems = checkServeConfig(cfg, CheckOptions{.offline = true}, &notes);
  EXPECT_FALSE(anyStartsWith(problems, "'store.")) << ::testing::PrintToString(problems);
  EXPECT_TRUE(notes.empty());
}

}  // namespace
}  // namespace jitb::server
