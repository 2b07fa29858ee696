#include "broker/store/postgres/pg_conn.h"

#include <libpq-fe.h>

#include <charconv>

namespace jitb::store::pg {

Result::Result(pg_result* r) : r_(r, [](pg_result* p) { PQclear(p); }) {}

int Result::rows() const { return r_ ? PQntuples(r_.get()) : 0; }

std::string Result::text(int row, int col) const {
  if (!r_ || PQgetisnull(r_.get(), row, col)) return {};
  return std::string(PQgetvalue(r_.get(), row, col),
                     static_cast<size_t>(PQgetlength(r_.get(), row, col)));
}

int64_t Result::int64(int row, int col) const {
  if (!r_ || PQgetisnull(r_.get(), row, col)) return 0;
  const char* v = PQgetvalue(r_.get(), row, col);
  int64_t out = 0;
  std::from_chars(v, v + PQgetlength(r_.get(), row, col), out);
  return out;
}

core::Status statusFromSqlState(std::string_view s, std::string detail) {
  auto cls = s.substr(0, 2);
  const bool unavailable = s.empty() ||     // no server reply at all: the connection broke
                           cls == "08" ||   // connection exception
                           cls == "53" ||   // insufficient resources (disk full, connections)
                           cls == "57" ||   // operator intervention: shutdown, cannot connect now
                           cls == "40" ||   // serialization failure, deadlock
                           s == "25006" ||  // read-only transaction: a standby after failover
                           s == "55P03";    // lock not available
  if (unavailable) return {core::Code::kUnavailable, "the store is unavailable; try again", detail};
  return core::internalError(std::move(detail));
}

core::StatusOr<std::unique_ptr<Conn>> Conn::connect(const std::string& uri, int connect_timeout_s) {
  // Keywords before dbname are overridden by what the expanded URI sets, so these are only
  // defaults. Keepalives and a TCP user timeout make a server that vanished without closing
  // the connection (a partition, a dead host) an error within seconds instead of a call that
  // never returns.
  const std::string timeout = std::to_string(connect_timeout_s);
  const char* keys[] = {"connect_timeout",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "tcp_user_timeout",
                        "dbname",
                        nullptr};
  const char* vals[] = {timeout.c_str(), "5", "1", "3", "10000", uri.c_str(), nullptr};
  pg_conn* c = PQconnectdbParams(keys, vals, 1);
  if (c == nullptr) return core::unavailable("the store is unavailable: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string detail = std::string("connect to PostgreSQL: ") + PQerrorMessage(c);
    PQfinish(c);
    return core::Status{core::Code::kUnavailable, "the store is unavailable; try again", detail};
  }
  std::unique_ptr<Conn> conn(new Conn(c));
  // Times are bound as integers and ids compared bytewise, so no session setting changes
  // a result; only the noise of NOTICEs (e.g. "relation already exists") is silenced.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return conn;
}

namespace {

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// array_send's layout, one dimension, no NULLs: ndim, has-nulls flag, element type; the
// dimension's size and lower bound; then each element as its length and its bytes (the element
// type's binary form; big-endian integers).
template <typename T, typename Put>
std::string binaryArray(uint32_t element_oid, const std::vector<T>& items, Put put) {
  std::string out;
  put32(out, items.empty() ? 0 : 1);
  put32(out, 0);
  put32(out, element_oid);
  if (!items.empty()) {
    put32(out, static_cast<uint32_t>(items.size()));
    put32(out, 1);
  }
  for (const T& item : items) put(out, item);
  return out;
}

// pg_type OIDs, fixed since PostgreSQL's first catalogs.
constexpr uint32_t kTextOid = 25, kInt4Oid = 23, kInt8Oid = 20;

}  // namespace

Param Param::array(const std::vector<std::string>& items) {
  Param p(binaryArray(kTextOid, items, [](std::string& out, const std::string& s) {
    put32(out, static_cast<uint32_t>(s.size()));
    out += s;
  }));
  p.binary = true;
  return p;
}

Param Param::array(const std::vector<int32_t>& items) {
  Param p(binaryArray(kInt4Oid, items, [](std::string& out, int32_t v) {
    put32(out, 4);
    put32(out, static_cast<uint32_t>(v));
  }));
  p.binary = true;
  return p;
}

Param Param::array(const std::vector<int64_t>& items) {
  Param p(binaryArray(kInt8Oid, items, [](std::string& out, int64_t v) {
    put32(out, 8);
    put32(out, static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
    put32(out, static_cast<uint32_t>(v));
  }));
  p.binary = true;
  return p;
}

Conn::~Conn() { PQfinish(c_); }

bool Conn::healthy() const { return PQstatus(c_) == CONNECTION_OK; }

core::Status Conn::error(const pg_result* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : "";
  const std::string_view s = sqlstate_;
  retryable_ = s == "40001" || s == "40P01";
  std::string detail =
      std::string(what) + ": " + (r ? PQresultErrorMessage(r) : "") + PQerrorMessage(c_);
  if (s.empty() && healthy()) return core::internalError(detail);  // e.g. a client-side bug
  return statusFromSqlState(s, std::move(detail));
}

core::Status Conn::exec(std::string_view sql, std::string_view what) {
  retryable_ = false;
  sqlstate_.clear();
  const std::string text(sql);
  pg_result* r = PQexec(c_, text.c_str());
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  core::Status out =
      (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? core::okStatus() : error(r, what);
  PQclear(r);
  return out;
}

core::StatusOr<Result> Conn::query(const char* sql, const std::vector<Param>& params,
                                   std::string_view what) {
  retryable_ = false;
  sqlstate_.clear();
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size());
    pg_result* r = PQprepare(c_, name.c_str(), sql, 0, nullptr);
    const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    core::Status st = ok ? core::okStatus() : error(r, what);
    PQclear(r);
    if (!st.ok()) return st;
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  values.reserve(params.size());
  lengths.reserve(params.size());
  formats.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p.value ? p.value->data() : nullptr);
    lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);  // read for binary only
    formats.push_back(p.binary ? 1 : 0);
  }
  pg_result* r = PQexecPrepared(c_, it->second.c_str(), static_cast<int>(values.size()),
                                values.data(), lengths.data(), formats.data(), 0);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Result(r);
  core::Status err = error(r, what);
  PQclear(r);
  return err;
}

}  // namespace jitb::store::pg
