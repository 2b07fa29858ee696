// buildStore and `jitbroker check` against the test PostgreSQL server (ctest fixture
// `postgres`, whose URI file JITB_PG_URI_FILE names). Each test works in a schema of its own.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "broker/core/files.h"
#include "broker/server/build_store.h"
#include "broker/server/config_check.h"
#include "broker/store/postgres/pg_conn.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace jitb::server {
namespace {

std::string serverUri() {
  const char* file = std::getenv("JITB_PG_URI_FILE");
  std::string uri;
  if (file) {
    std::ifstream in(file);
    std::getline(in, uri);
  }
  return uri;
}

class ServerOnPostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = serverUri();
    ASSERT_FALSE(server_.empty()) << "run through ctest (-L postgres): no JITB_PG_URI_FILE";
    schema_ = "server_" + core::randomHex(6);
    auto c = store::pg::Conn::connect(server_, 5);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_TRUE((*c)->exec("CREATE SCHEMA " + schema_, "create schema").ok());
    uri_ = server_ + (server_.find('?') == std::string::npos ? "?" : "&") +
           "options=-csearch_path%3D" + schema_;
  }
  void TearDown() override {
    auto c = store::pg::Conn::connect(server_, 5);
    if (c.ok()) (void)(*c)->exec("DROP SCHEMA " + schema_ + " CASCADE", "drop schema");
  }
  std::string server_, schema_, uri_;
};

TEST_F(ServerOnPostgres, CheckReportsPendingMigrationsWithoutApplyingThem) {
  auto before = describePostgresSchema(uri_);
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_NE(before->find("schema version 0"), std::string::npos) << *before;
  EXPECT_NE(before->find("serve would apply 0001_schema.sql"), std::string::npos) << *before;
  // Asking twice gives the same answer: the first did not migrate.
  auto again = describePostgresSchema(uri_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *before);
}

TEST_F(ServerOnPostgres, BuildStoreMigratesAndStoresInPostgres) {
  jitb::testing::TempDir dir;
  core::FakeClock clock(std::chrono::system_clock::now());
  Config cfg;
  cfg.data_dir = dir.path();
  cfg.postgres_url = uri_;
  {
    auto s = buildStore(cfg, clock);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store::TicketRow row;
    row.id = "CHG1";
    row.state = "approved";
    row.json = R"({"id":"CHG1"})";
    ASSERT_TRUE(s->store->putTicket(row).ok());
    s->close_store();
    s->audit->close();
  }
  // The ticket is in the database, not in a file of data_dir: a second start reads it back.
  EXPECT_FALSE(std::ifstream(dir.path() + "/broker.db").good());
  auto s = buildStore(cfg, clock);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto got = s->store->getTicket("CHG1");
  s->close_store();
  s->audit->close();
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->state, "approved");
  auto after = describePostgresSchema(uri_);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->find("up to date"), std::string::npos) << *after;
}

TEST_F(ServerOnPostgres, ASecondBrokerOnTheSameSchemaIsRefusedWhileTheFirstRuns) {
  jitb::testing::TempDir dir_a, dir_b;
  core::FakeClock clock(std::chrono::system_clock::now());
  Config a;
  a.data_dir = dir_a.path();
  a.postgres_url = uri_;
  Config b = a;
  b.data_dir = dir_b.path();
  {
    auto first = buildStore(a, clock);
    ASSERT_TRUE(first.ok()) << first.status().message();
    auto second = buildStore(b, clock);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), core::Code::kConflict);
    EXPECT_NE(second.status().message().find("another jitbroker already serves this database"),
              std::string::npos)
        << second.status().message();
    first->close_store();
    first->audit->close();
  }
  // Once the first is gone, the next start is served.
  auto after = buildStore(b, clock);
  ASSERT_TRUE(after.ok()) << after.status().message();
  after->close_store();
  after->audit->close();
}

}  // namespace
}  // namespace jitb::server
