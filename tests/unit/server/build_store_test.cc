#include "broker/server/build_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace jitb::server {
namespace {

Config configIn(const std::string& dir) {
  Config cfg;
  cfg.data_dir = dir;
  cfg.sqlite_path = dir + "/broker.db";
  return cfg;
}

TEST(BuildStore, OpensTheStoreAndTheAuditLogAndTightensAnOpenStoreFile) {
  jitb::testing::TempDir dir;
  core::FakeClock clock(std::chrono::system_clock::now());
  Config cfg = configIn(dir.path());
  {
    auto first = buildStore(cfg, clock);
    ASSERT_TRUE(first.ok()) << first.status().message();
    ASSERT_NE(first->store, nullptr);
    ASSERT_NE(first->audit, nullptr);
    first->close_store();
    first->audit->close();
  }
  ASSERT_EQ(::chmod(cfg.sqlite_path.c_str(), 0644), 0);  // as made before the umask was set
  auto again = buildStore(cfg, clock);
  ASSERT_TRUE(again.ok()) << again.status().message();
  struct stat st;
  ASSERT_EQ(::stat(cfg.sqlite_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  again->close_store();
  again->audit->close();
}

TEST(BuildStore, AnUnreachablePostgresServerFailsTheStartWithoutShowingTheUri) {
  jitb::testing::TempDir dir;
  core::FakeClock clock(std::chrono::system_clock::now());
  Config cfg = configIn(dir.path());
  cfg.sqlite_path.clear();
  // Port 1 of the loopback: nothing listens there, so the refusal is immediate.
  cfg.postgres_url = "postgresql://jb:s3cret@127.0.0.1:1/jitbroker?connect_timeout=2";
  auto s = buildStore(cfg, clock);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), core::Code::kUnavailable) << s.status().message();
  EXPECT_EQ(s.status().message().rfind("store.postgres: ", 0), 0u) << s.status().message();
  EXPECT_EQ(s.status().message().find("s3cret"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace jitb::server
