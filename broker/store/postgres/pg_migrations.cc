#include "broker/store/postgres/pg_migrations.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "broker/store/migration_files.h"

namespace jitb::store::pg {

// Generated from migrations/*.sql by scripts/embed.cmake.
extern const std::vector<std::pair<std::string_view, std::string_view>> kPgMigrations;

namespace {

// Any fixed number; only jitbroker takes it. The lock is per database, so every schema of one
// database shares it (which only serialises their migrations).
constexpr const char* kLockSql = "SELECT pg_advisory_xact_lock(7346010001)";

core::StatusOr<std::vector<Migration>> migrations() { return orderedMigrations(kPgMigrations); }

core::StatusOr<int> currentVersion(Conn& c) {
  auto has = c.query("SELECT to_regclass('schema_version') IS NOT NULL", {}, "schema version");
  if (!has.ok()) return has.status();
  if (has->text(0, 0) != "t") return 0;
  auto v = c.query("SELECT coalesce(max(version), 0) FROM schema_version", {}, "schema version");
  if (!v.ok()) return v.status();
  return static_cast<int>(v->int64(0, 0));
}

core::StatusOr<SchemaVersion> describe(Conn& c, const std::vector<Migration>& all) {
  auto cur = currentVersion(c);
  if (!cur.ok()) return cur.status();
  SchemaVersion out{*cur, static_cast<int>(all.size()), {}};
  for (const auto& m : all)
    if (m.version > *cur) out.pending.emplace_back(m.name);
  return out;
}

}  // namespace

int latestSchemaVersion() { return static_cast<int>(kPgMigrations.size()); }

core::StatusOr<SchemaVersion> readSchemaVersion(Conn& c) {
  auto all = migrations();
  if (!all.ok()) return all.status();
  return describe(c, *all);
}

core::StatusOr<SchemaVersion> readSchemaVersion(const std::string& uri, int connect_timeout_s) {
  auto c = Conn::connect(uri, connect_timeout_s);
  if (!c.ok()) return c.status();
  return readSchemaVersion(**c);
}

core::StatusOr<SchemaVersion> migrate(Conn& c, int up_to) {
  auto all = migrations();
  if (!all.ok()) return all.status();
  auto run = [&]() -> core::StatusOr<SchemaVersion> {
    if (auto st = c.exec(kLockSql, "lock the schema"); !st.ok()) return st;
    if (auto st = c.exec("CREATE TABLE IF NOT EXISTS schema_version ("
                         "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                         "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                         "create schema_version");
        !st.ok())
      return st;
    auto before = describe(c, *all);
    if (!before.ok()) return before.status();
    if (before->current > before->latest)
      return core::internalError("the store's schema is version " +
                                 std::to_string(before->current) + ", newer than this binary's " +
                                 std::to_string(before->latest) + ": upgrade jitbroker");
    for (const auto& m : *all) {
      if (m.version <= before->current) continue;
      if (m.version > up_to) break;
      if (auto st = c.exec(m.sql, m.name); !st.ok()) return st;
      auto rec = c.query("INSERT INTO schema_version (version, name) VALUES ($1, $2)",
                         {m.version, std::string(m.name)}, "record migration");
      if (!rec.ok()) return rec.status();
    }
    const int now_at = std::min(up_to, before->latest);
    return SchemaVersion{std::max(now_at, before->current), before->latest, {}};
  };
  if (auto st = c.exec("BEGIN", "begin migration"); !st.ok()) return st;
  auto out = run();
  if (!out.ok()) {
    (void)c.exec("ROLLBACK", "roll back migration");
    return out;
  }
  if (auto st = c.exec("COMMIT", "commit migration"); !st.ok()) return st;
  return out;
}

}  // namespace jitb::store::pg
