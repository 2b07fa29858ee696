// One libpq connection with its prepared statements. Not thread-safe: one owner at a time (the
// pool hands it out). Parameters and results travel as text, which libpq converts on the server.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/core/status.h"

struct pg_conn;
struct pg_result;

namespace jitb::store::pg {

// A statement parameter: text, or NULL (so partial unique indexes ignore an empty jti), or an
// array.
struct Param {
  Param(std::string v) : value(std::move(v)) {}   // NOLINT: parameters read as a list
  Param(const char* v) : value(v) {}              // NOLINT
  Param(int64_t v) : value(std::to_string(v)) {}  // NOLINT
  Param(int v) : value(std::to_string(v)) {}      // NOLINT
  static Param null() { return Param(std::nullopt); }
  static Param orNull(const std::string& v) { return v.empty() ? null() : Param(v); }
  // A one-dimensional array in PostgreSQL's binary format (array_send's): nothing to quote
  // here, nothing to parse there (as text, array_in took a tenth of the server's CPU for a
  // lease group). The statement must cast the parameter to the same type: $n::text[],
  // $n::int[], $n::bigint[].
  static Param array(const std::vector<std::string>& items);
  static Param array(const std::vector<int32_t>& items);
  static Param array(const std::vector<int64_t>& items);
  std::optional<std::string> value;
  bool binary = false;

 private:
  explicit Param(std::nullopt_t) {}
};

// A result's rows; text cells (NULL reads as empty).
class Result {
 public:
  explicit Result(pg_result* r = nullptr);
  int rows() const;
  std::string text(int row, int col) const;
  int64_t int64(int row, int col) const;

 private:
  std::shared_ptr<pg_result> r_;
};

class Conn {
 public:
  // `uri` goes to libpq as it is (multi-host lists, target_session_attrs, sslmode...).
  // `connect_timeout_s` applies only when the URI sets none.
  static core::StatusOr<std::unique_ptr<Conn>> connect(const std::string& uri,
                                                       int connect_timeout_s);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs `sql` (one or more statements, no parameters), e.g. BEGIN or a migration's script.
  core::Status exec(std::string_view sql, std::string_view what);
  // Runs `sql` as a statement prepared once per connection; the cache is keyed by the SQL
  // literal's address, so `sql` must be a string literal.
  core::StatusOr<Result> query(const char* sql, const std::vector<Param>& params,
                               std::string_view what);
  // False once the server went away: the pool then drops the connection instead of reusing it.
  bool healthy() const;
  // Whether the last error was one a retry of the whole transaction cures (serialization
  // failure, deadlock) rather than one to report.
  bool lastErrorRetryable() const { return retryable_; }
  // The last error's SQLSTATE ("" after a success or a client-side failure).
  const std::string& lastSqlState() const { return sqlstate_; }

 private:
  explicit Conn(pg_conn* c) : c_(c) {}
  core::Status error(const pg_result* r, std::string_view what);
  pg_conn* c_;
  std::unordered_map<const char*, std::string> prepared_;  // SQL literal -> statement name
  bool retryable_ = false;
  std::string sqlstate_;
};

// The one mapping of libpq failures onto the status vocabulary, by SQLSTATE. Lost connections,
// server shutdown, a standby refusing writes after a failover, resource exhaustion,
// serialization failures and deadlocks are Unavailable (callers fail closed and retry);
// everything else, constraint violations included (as SQLite reports them), is Internal.
core::Status statusFromSqlState(std::string_view sqlstate, std::string detail);

}  // namespace jitb::store::pg
