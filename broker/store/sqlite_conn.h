// A SQLite connection with a cache of prepared statements. Not thread-safe: one owner at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/core/status.h"

namespace jitb::store {

// A prepared statement borrowed from the cache; reset and unbound when it goes out of scope.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  // To run the statement again with new bindings.
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // Binds NULL for an empty string, so that partial unique indexes ignore it.
  Stmt& bindOrNull(int i, std::string_view v) {
    if (v.empty()) sqlite3_bind_null(s_, i);
    else bind(i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }

 private:
  sqlite3_stmt* s_;
};

class SqliteConn {
 public:
  static core::StatusOr<std::unique_ptr<SqliteConn>> open(const std::string& path, bool writer);
  ~SqliteConn();

  core::Status exec(const char* sql);
  // One statement without results, prepared once (exec() parses its SQL every time): for the
  // transaction control that every group commit repeats.
  core::Status run(const char* sql);
  // The statement for `sql`, prepared once per connection. Null on a prepare error (a bug).
  sqlite3_stmt* prepare(const char* sql);
  sqlite3* db() { return db_; }
  // Maps a SQLite result code to a Status; SQLITE_FULL and I/O errors are Unavailable so the
  // broker fails closed with 503 and recovers when space returns.
  core::Status error(int rc, std::string_view what) const;

 private:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;  // keyed by the SQL literal's address
};

}  // namespace jitb::store
