#include "broker/store/sqlite_conn.h"

#include "broker/store/wal_vfs.h"

namespace jitb::store {

core::StatusOr<std::unique_ptr<SqliteConn>> SqliteConn::open(const std::string& path,
                                                             bool writer) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                            : SQLITE_OPEN_READONLY);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, walBufferingVfs());
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return core::unavailable("cannot open store " + path + ": " + msg);
  }
  std::unique_ptr<SqliteConn> c(new SqliteConn(db));
  sqlite3_busy_timeout(db, 10'000);
  // FULL: a lease the client holds must survive power loss, not only a process crash. Group
  // commit pays for the extra fsync. The WAL VFS relies on it too (wal_vfs.h).
  if (core::Status st = c->exec("PRAGMA synchronous=FULL"); !st.ok()) return st;
  return c;
}

SqliteConn::~SqliteConn() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

core::Status SqliteConn::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  if (rc != SQLITE_OK) return error(rc, msg);
  return core::okStatus();
}

core::Status SqliteConn::run(const char* sql) {
  sqlite3_stmt* stmt = prepare(sql);
  if (!stmt) return exec(sql);  // reports the prepare error
  Stmt s(stmt);
  int rc = s.step();
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return core::okStatus();
  return error(rc, sqlite3_errmsg(db_));
}

sqlite3_stmt* SqliteConn::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
    return nullptr;
  cache_.emplace(sql, stmt);
  return stmt;
}

core::Status SqliteConn::error(int rc, std::string_view what) const {
  std::string detail = std::string(what) + ": " + sqlite3_errstr(rc) + " (" +
                       sqlite3_errmsg(db_) + ")";
  int primary = rc & 0xff;
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_BUSY ||
      primary == SQLITE_LOCKED || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY)
    return {core::Code::kUnavailable, "the store is unavailable; try again", detail};
  return core::internalError(detail);
}

}  // namespace jitb::store
