#include "broker/downstream/role_sql.h"

#include <chrono>

#include "broker/core/duration.h"

namespace jitb::downstream {

std::string StandardQuoter::ident(std::string_view name) const {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + '"';
}

std::string StandardQuoter::literal(std::string_view value) const {
  // As PQescapeLiteral: quotes doubled; a backslash makes it an E'' string with it doubled.
  bool backslash = value.find('\\') != std::string_view::npos;
  std::string out = backslash ? " E'" : "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  return out + '\'';
}

std::string roleNameFor(std::string_view lease_id) {
  std::string out(kRolePrefix);
  for (char c : lease_id) {
    if (out.size() >= 63) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    out += plain ? c : '_';
  }
  return out;
}

std::string leaseIdOfRole(std::string_view role) {
  if (role.substr(0, kReapPrefix.size()) != kReapPrefix) return "";
  return std::string(role.substr(kRolePrefix.size()));
}

std::string createRoleSql(const NewRole& r, const Quoter& q) {
  auto until = std::chrono::system_clock::time_point(std::chrono::milliseconds(r.valid_until_ms));
  std::string sql = "CREATE ROLE " + q.ident(r.name) + " LOGIN PASSWORD " + q.literal(r.password) +
                    " VALID UNTIL " + q.literal(core::formatRfc3339(until)) +
                    " CONNECTION LIMIT " + std::to_string(r.connection_limit) +
                    " NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS INHERIT";
  for (size_t i = 0; i < r.member_of.size(); ++i)
    sql += (i == 0 ? " IN ROLE " : ", ") + q.ident(r.member_of[i]);
  return sql;
}

std::string disableLoginSql(std::string_view role, const Quoter& q) {
  return "ALTER ROLE " + q.ident(role) + " NOLOGIN PASSWORD NULL";
}

std::string revokeMembershipSql(std::string_view role, const std::vector<std::string>& groups,
                                const Quoter& q) {
  if (groups.empty()) return "";
  std::string sql = "REVOKE ";
  for (size_t i = 0; i < groups.size(); ++i) sql += (i ? ", " : "") + q.ident(groups[i]);
  return sql + " FROM " + q.ident(role);
}

std::string terminateSessionsSql(std::string_view role, const Quoter& q) {
  // pg_stat_activity.usename is the session's login, also after SET ROLE. Not the timeout
  // form: it polls every 100 ms per backend; the caller counts what is left instead.
  return "SELECT count(*) FILTER (WHERE signalled) FROM (SELECT pg_terminate_backend(pid) AS "
         "signalled FROM pg_stat_activity WHERE usename = " +
         q.literal(role) + " AND pid <> pg_backend_pid()) s";
}

std::string countSessionsSql(std::string_view role, const Quoter& q) {
  return "SELECT count(*) FROM pg_stat_activity WHERE usename = " + q.literal(role);
}

std::string dropOwnedSql(std::string_view role, const Quoter& q) {
  const std::string r = q.ident(role);
  return "GRANT " + r + " TO CURRENT_USER; REASSIGN OWNED BY " + r +
         " TO CURRENT_USER; DROP OWNED BY " + r;
}

std::string dropRoleSql(std::string_view role, const Quoter& q) {
  return "DROP ROLE IF EXISTS " + q.ident(role);
}

std::string roleExistsSql(std::string_view role, const Quoter& q) {
  return "SELECT count(*) FROM pg_roles WHERE rolname = " + q.literal(role);
}

std::string brokerRolesSql(const Quoter& q) {
  // starts_with, not LIKE: '_' is a LIKE wildcard.
  return "SELECT rolname FROM pg_roles WHERE starts_with(rolname, " +
         q.literal(kReapPrefix) + ") ORDER BY rolname";
}

}  // namespace jitb::downstream
