#include "broker/server/build_store.h"

#include <sys/stat.h>

#include <string>

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

}  // namespace

core::StatusOr<Storage> buildStore(const Config& cfg, const core::Clock& clock) {
  if (!cfg.postgres_url.empty())
    return core::invalidArgument("store.postgres is not supported yet; use store.sqlite");
  tightenStoreFiles(cfg.sqlite_path);
  auto store = store::SqliteStore::open(cfg.sqlite_path);
  if (!store.ok()) return store.status();
  auto audit = audit::AuditLog::open(cfg.data_dir + "/audit.log", clock,
                                     static_cast<uint64_t>(cfg.limits.audit_log_max_bytes));
  if (!audit.ok()) return audit.status();
  return Storage{std::move(*store), std::move(*audit)};
}

}  // namespace jitb::server
