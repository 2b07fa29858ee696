// The test PostgreSQL server, for the tests labelled `postgres`: its URI comes from
// JITB_PG_URI, or from the file JITB_PG_URI_FILE names (the ctest fixture `postgres` starts a
// server with scripts/pg and writes that file). Each test gets a schema of its own.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "broker/store/postgres/pg_store.h"
#include "tests/unit/store_conformance/store_env.h"

namespace jitb::store::conformance {

// The server's URI, or an error that says how to get one (the tests then fail: a machine that
// runs them has PostgreSQL, since scripts/setup installs it).
core::StatusOr<std::string> testServerUri();

// The version of the migration whose file name ends with `suffix` ("_lease_ends.sql"), 0 if
// none: a test migrates to the one before it to build a database as an older release left it.
int migrationVersion(std::string_view suffix);

// A fresh schema on the test server, dropped when the env goes; stores open with it as their
// search_path, through the URI's `options`, as a user's URI would set it.
class PgEnv final : public StoreEnv {
 public:
  static core::StatusOr<std::unique_ptr<PgEnv>> create(PgOptions options = {});
  ~PgEnv() override;
  core::StatusOr<std::unique_ptr<Store>> open() override;
  core::StatusOr<std::unique_ptr<PgStore>> openPg();
  bool severalWriters() const override { return true; }
  core::Status slowLeaseInserts() override;
  const std::string& uri() const { return uri_; }  // with the schema set
  const std::string& schema() const { return schema_; }
  const std::string& serverUri() const { return server_; }

 private:
  PgEnv() = default;
  std::string server_, schema_, uri_;
  PgOptions options_;
};

Backend postgresBackend();

}  // namespace jitb::store::conformance
