#include "broker/server/build_store.h"

#include <sys/stat.h>

#include <string>

#include "broker/server/build_support.h"
#include "broker/core/files.h"
#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_conn.h"
#include "broker/store/postgres/pg_store.h"
#include "broker/store/sqlite_store.h"

namespace jitb::server {

namespace {

// The store, its WAL and shm were made 0644 before the broker set its umask; SQLite gives the
// WAL and shm the main file's mode, so tightening the main file once fixes the rest for good.
void tightenStoreFiles(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::string path = db + suffix;
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
      ::chmod(path.c_str(), 0600);
  }
}

// A session-level advisory lock, held on a connection of its own for the broker's life (a pool
// connection would release it, or keep it, at the pool's whim). Keyed by the schema too, so that
// brokers in different schemas of one database do not exclude each other; the two-key form
// keeps it apart from the migrations' one-key transaction lock.
core::StatusOr<std::shared_ptr<void>> lockSingleBroker(const std::string& uri) {
  auto c = store::pg::Conn::connect(uri, 5);
  if (!c.ok()) return prefixed("store.postgres: ", c.status());
  auto r = (*c)->query("SELECT pg_try_advisory_lock(7346010, hashtext(current_schema()))", {},
                       "lock the store for this broker");
  if (!r.ok()) return prefixed("store.postgres: ", r.status());
  if (r->rows() != 1 || r->text(0, 0) != "t")
    return core::conflict(
        "store.postgres: another jitbroker already serves this database; several brokers on "
        "one database (replicas) need keys.kek_file, so that they share the store's keys");
  return std::shared_ptr<void>(std::move(*c));
}

core::StatusOr<std::pair<std::unique_ptr<store::Store>, std::function<void()>>> openStore(
    const Config& cfg) {
  if (!cfg.postgres_url.empty()) {
    // The URI is not repeated in the error: it may hold the role's password.
    auto pg = store::PgStore::open(cfg.postgres_url);
    if (!pg.ok()) return prefixed("store.postgres: ", pg.status());
    store::PgStore* raw = pg->get();
    return std::pair{std::unique_ptr<store::Store>(std::move(*pg)),
                     std::function<void()>([raw] { raw->close(); })};
  }
  tightenStoreFiles(cfg.sqlite_path);
  auto sqlite = store::SqliteStore::open(cfg.sqlite_path);
  if (!sqlite.ok()) return sqlite.status();
  store::SqliteStore* raw = sqlite->get();
  return std::pair{std::unique_ptr<store::Store>(std::move(*sqlite)),
                   std::function<void()>([raw] { raw->close(); })};
}

}  // namespace

core::StatusOr<Storage> buildStore(const Config& cfg, const core::Clock& clock) {
  std::shared_ptr<void> single_broker;
  // With keys.kek_file every broker on the database uses the store's keys: they are replicas.
  if (!cfg.postgres_url.empty() && cfg.keys.kek_file.empty()) {
    auto lock = lockSingleBroker(cfg.postgres_url);
    if (!lock.ok()) return lock.status();
    single_broker = std::move(*lock);
  }
  auto store = openStore(cfg);
  if (!store.ok()) return store.status();
  auto audit = audit::AuditLog::open(cfg.data_dir + "/audit.log", clock,
                                     static_cast<uint64_t>(cfg.limits.audit_log_max_bytes));
  if (!audit.ok()) return audit.status();
  Storage out{std::move(store->first), std::move(*audit), std::move(store->second),
              std::move(single_broker), nullptr, ""};
  if (!cfg.postgres_url.empty()) {
    // A replica whose disk is lost comes back with a new id, so a new chain: the old one stays
    // whole in the store, ending with the last record its replica committed.
    auto id = cfg.replica_id.empty() ? core::readOrCreateSecret(cfg.data_dir + "/replica.id", 8)
                                     : core::StatusOr<std::string>(cfg.replica_id);
    if (!id.ok()) return prefixed("store.replica_id: ", id.status());
    auto* pg = static_cast<store::PgStore*>(out.store.get());
    // The store's chain is the record; data_dir/audit.log keeps a copy of what this replica
    // wrote, for its admin views (GET /v1/audit/..., the console), written once committed.
    pg->keepAuditAs(*id, [log = out.audit.get()](std::vector<std::string> bodies) {
      log->appendBodiesThen(std::move(bodies), [](core::Status) {},
                            audit::AuditSink::Durability::kWritten);
    });
    out.replica_id = *id;
    out.store_audit = std::make_unique<store::PgAuditSink>(*pg, clock);
  }
  return out;
}

}  // namespace jitb::server
