#include "broker/server/build_store.h"

#include <sys/stat.h>

#include <string>

#include "broker/core/encoding.h"
#include "broker/core/files.h"
#include "broker/server/build_support.h"
#include "broker/server/replica_lock.h"
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
  auto store = openStore(cfg);
  if (!store.ok()) return store.status();
  std::shared_ptr<void> single_broker;
  if (!cfg.postgres_url.empty()) {
    // After the migration (which replicas starting together may run at once): the lock reads
    // the keys the brokers already serving it publish.
    // No chain yet (a store opened without its CA, as in tests): this data_dir is its own.
    auto chain = core::readFile(cfg.data_dir + "/ca/chain.pem");
    const std::string keys = chain.ok() ? *chain : "data_dir:" + cfg.data_dir;
    auto lock = lockReplicas(cfg.postgres_url, core::hexEncode(core::sha256(keys)));
    if (!lock.ok()) {
      store->second();
      return lock.status();
    }
    single_broker = std::move(*lock);
  }
  auto audit = audit::AuditLog::open(cfg.data_dir + "/audit.log", clock,
                                     static_cast<uint64_t>(cfg.limits.audit_log_max_bytes));
  if (!audit.ok()) return audit.status();
  return Storage{std::move(store->first), std::move(*audit), std::move(store->second),
                 std::move(single_broker)};
}

}  // namespace jitb::server
