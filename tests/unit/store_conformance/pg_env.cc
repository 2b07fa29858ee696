#include "tests/unit/store_conformance/pg_env.h"

#include <cstdlib>
#include <fstream>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/core/files.h"
#include "broker/store/postgres/pg_conn.h"

namespace jitb::store::pg {
// The binary's migrations (generated from migrations/*.sql).
extern const std::vector<std::pair<std::string_view, std::string_view>> kPgMigrations;
}  // namespace jitb::store::pg

namespace jitb::store::conformance {

core::StatusOr<std::string> testServerUri() {
  if (const char* uri = std::getenv("JITB_PG_URI"); uri && *uri) return std::string(uri);
  const char* file = std::getenv("JITB_PG_URI_FILE");
  if (file && *file) {
    std::ifstream in(file);
    std::string uri;
    if (in && std::getline(in, uri) && !uri.empty()) return uri;
    return core::unavailable(std::string("no PostgreSQL URI in ") + file +
                             ": did the ctest fixture postgres.start (scripts/pg start) fail?");
  }
  return core::unavailable(
      "no test PostgreSQL server: run these tests through ctest (-L postgres), whose fixture "
      "starts one with scripts/pg, or set JITB_PG_URI");
}

int migrationVersion(std::string_view suffix) {
  for (const auto& [name, sql] : pg::kPgMigrations)
    if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix)
      return std::stoi(std::string(name.substr(0, name.find('_'))));
  return 0;
}

core::StatusOr<std::unique_ptr<PgEnv>> PgEnv::create(PgOptions options) {
  auto server = testServerUri();
  if (!server.ok()) return server.status();
  std::unique_ptr<PgEnv> env(new PgEnv());
  env->options_ = options;
  env->server_ = *server;
  env->schema_ = "conformance_" + core::randomHex(8);
  auto c = pg::Conn::connect(env->server_, 5);
  if (!c.ok()) return c.status();
  if (auto st = (*c)->exec("CREATE SCHEMA " + env->schema_, "create schema"); !st.ok()) return st;
  const char sep = env->server_.find('?') == std::string::npos ? '?' : '&';
  env->uri_ = env->server_ + sep + "options=-csearch_path%3D" + env->schema_;
  return env;
}

PgEnv::~PgEnv() {
  auto c = pg::Conn::connect(server_, 5);
  if (c.ok()) (void)(*c)->exec("DROP SCHEMA " + schema_ + " CASCADE", "drop schema");
}

core::StatusOr<std::unique_ptr<PgStore>> PgEnv::openPg() { return PgStore::open(uri_, options_); }

core::StatusOr<std::unique_ptr<Store>> PgEnv::open() {
  auto s = openPg();
  if (!s.ok()) return s.status();
  return std::unique_ptr<Store>(std::move(*s));
}

core::Status PgEnv::slowLeaseInserts() {
  auto c = pg::Conn::connect(uri_, 5);
  if (!c.ok()) return c.status();
  return (*c)->exec(
      "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN PERFORM pg_sleep(0.003); RETURN NEW; END $$; "
      "CREATE TRIGGER slow_insert BEFORE INSERT ON leases FOR EACH ROW EXECUTE FUNCTION "
      "slow_insert()",
      "slow lease inserts");
}

Backend postgresBackend() {
  return {"Postgres", []() -> core::StatusOr<std::unique_ptr<StoreEnv>> {
            auto env = PgEnv::create();
            if (!env.ok()) return env.status();
            return std::unique_ptr<StoreEnv>(std::move(*env));
          }};
}

}  // namespace jitb::store::conformance
