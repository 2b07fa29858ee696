#include "broker/downstream/pg_role_admin.h"

#include <libpq-fe.h>

#include <cstring>

namespace jitb::downstream {

namespace {
constexpr const char* kUndefinedObject = "42704";  // the role does not exist
}  // namespace

class PgRoleAdmin::LiveQuoter final : public Quoter {
 public:
  explicit LiveQuoter(PGconn* c) : c_(c) {}
  std::string ident(std::string_view name) const override { return escape(name, true); }
  std::string literal(std::string_view value) const override { return escape(value, false); }

 private:
  std::string escape(std::string_view v, bool ident) const {
    char* e = ident ? PQescapeIdentifier(c_, v.data(), v.size())
                    : PQescapeLiteral(c_, v.data(), v.size());
    if (!e) return ident ? "\"\"" : "NULL";  // an encoding error: a statement that fails
    std::string out(e);
    PQfreemem(e);
    return out;
  }
  PGconn* c_;
};

PgRoleAdmin::PgRoleAdmin(std::string dsn, int connect_timeout_s)
    : dsn_(std::move(dsn)), timeout_s_(connect_timeout_s) {}

PgRoleAdmin::~PgRoleAdmin() {
  if (conn_) PQfinish(conn_);
}

core::Status PgRoleAdmin::connectLocked() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return core::okStatus();
  if (conn_) PQfinish(conn_);
  const std::string timeout = std::to_string(timeout_s_);
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* vals[] = {dsn_.c_str(), timeout.c_str(), "jitbroker-roles", nullptr};
  // expand_dbname: the dsn may be a URI or key=value text; the later keys fill what it omits.
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (PQstatus(conn_) == CONNECTION_OK) return core::okStatus();
  std::string why = conn_ ? PQerrorMessage(conn_) : "out of memory";
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  PQfinish(conn_);
  conn_ = nullptr;
  return core::Status(core::Code::kUnavailable, "database unreachable", why);
}

template <class Build>
core::StatusOr<std::vector<std::string>> PgRoleAdmin::run(const char* what, Build&& build,
                                                          const char* tolerate) {
  std::lock_guard lk(mu_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (core::Status st = connectLocked(); !st.ok()) return st;
    LiveQuoter q(conn_);
    const std::string sql = build(static_cast<const Quoter&>(q));
    PGresult* r = PQexec(conn_, sql.c_str());
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
      std::vector<std::string> rows;
      for (int i = 0; es == PGRES_TUPLES_OK && i < PQntuples(r); ++i)
        rows.emplace_back(PQgetvalue(r, i, 0));
      PQclear(r);
      return rows;
    }
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "" : "";
    bool tolerated = tolerate && state && std::strcmp(state, tolerate) == 0;
    PQclear(r);
    if (tolerated) return std::vector<std::string>();
    // A broken connection gets one fresh try; an error the server gave is the answer.
    if (PQstatus(conn_) != CONNECTION_OK) continue;
    return core::Status(core::Code::kUnavailable, std::string(what) + " failed",
                        std::string(what) + ": " + (state ? state : "") + " " + msg);
  }
  return core::Status(core::Code::kUnavailable, std::string(what) + " failed", "connection lost");
}

core::Status PgRoleAdmin::createRole(const NewRole& role) {
  return run("create role", [&](const Quoter& q) { return createRoleSql(role, q); }).status();
}

core::Status PgRoleAdmin::disableLogin(const std::string& role) {
  return run("disable login", [&](const Quoter& q) { return disableLoginSql(role, q); },
             kUndefinedObject)
      .status();
}

core::Status PgRoleAdmin::revokeMembership(const std::string& role,
                                           const std::vector<std::string>& groups) {
  if (groups.empty()) return core::okStatus();
  return run("revoke membership",
             [&](const Quoter& q) { return revokeMembershipSql(role, groups, q); },
             kUndefinedObject)
      .status();
}

core::StatusOr<int> PgRoleAdmin::terminateSessions(const std::string& role) {
  auto rows =
      run("terminate sessions", [&](const Quoter& q) { return terminateSessionsSql(role, q); });
  if (!rows.ok()) return rows.status();
  return rows->empty() ? 0 : std::stoi(rows->front());
}

core::StatusOr<int> PgRoleAdmin::countSessions(const std::string& role) {
  auto rows = run("count sessions", [&](const Quoter& q) { return countSessionsSql(role, q); });
  if (!rows.ok()) return rows.status();
  return rows->empty() ? 0 : std::stoi(rows->front());
}

core::Status PgRoleAdmin::dropOwned(const std::string& role) {
  return run("drop owned", [&](const Quoter& q) { return dropOwnedSql(role, q); },
             kUndefinedObject)
      .status();
}

core::Status PgRoleAdmin::dropRole(const std::string& role) {
  return run("drop role", [&](const Quoter& q) { return dropRoleSql(role, q); }).status();
}

core::StatusOr<bool> PgRoleAdmin::roleExists(const std::string& role) {
  auto rows = run("role exists", [&](const Quoter& q) { return roleExistsSql(role, q); });
  if (!rows.ok()) return rows.status();
  return !rows->empty() && rows->front() != "0";
}

core::StatusOr<std::vector<std::string>> PgRoleAdmin::brokerRoles() {
  return run("list broker roles", [&](const Quoter& q) { return brokerRolesSql(q); });
}

}  // namespace jitb::downstream
