#include "broker/issuing/database_minter.h"

#include <boost/json.hpp>

#include "broker/core/duration.h"
#include "broker/core/encoding.h"

#include "broker/core/files.h"
#include "broker/downstream/crash_point.h"

namespace jitb::issuing {

namespace json = boost::json;

std::string passwordHandle(std::string_view password) {
  return "pgpw_" + core::hexEncode(core::sha256(password));
}

std::variant<Minted, MintRefusal> DatabaseMinter::mint(const MintContext& ctx) {
  const policies::Decision& dec = ctx.decision;
  auto it = dbs_.find(dec.database);
  // The config check refuses such a grant at start; a reload could still bring one.
  if (it == dbs_.end())
    return MintRefusal{core::unavailable("database '" + dec.database + "' is not configured"),
                       std::nullopt};
  const DatabaseTarget& t = it->second;
  core::TimePoint end = ctx.now + dec.ttl;
  Minted m;
  m.lease.kind = store::LeaseKind::kDatabase;
  m.lease.expires_at = core::unixMillis(end);
  json::array roles;
  for (const auto& r : dec.database_roles) roles.emplace_back(r);
  m.lease.claims = json::serialize(json::object{{"database", dec.database}, {"roles", roles}});
  unsigned char secret[32];
  core::randomBytes(secret, sizeof secret);
  std::string password =
      core::base64urlEncode(std::string_view(reinterpret_cast<const char*>(secret), sizeof secret));
  m.lease.jti = passwordHandle(password);
  m.fields = {{"password", std::move(password)},
              {"host", t.host},
              {"port", t.port},
              {"database", t.database},
              {"valid_until", core::formatRfc3339(end)},
              {"expires_in", dec.ttl.count()}};
  return m;
}

core::Status DatabaseMinter::activate(const store::LeaseRow& lease, json::object& fields) {
  json::error_code ec;
  json::value claims = json::parse(lease.claims, ec);
  const json::object* c = ec ? nullptr : claims.if_object();
  const json::value* db = c ? c->if_contains("database") : nullptr;
  auto it = db && db->is_string() ? dbs_.find(std::string(db->as_string())) : dbs_.end();
  if (it == dbs_.end()) return core::unavailable("the lease names no configured database");
  downstream::NewRole role;
  role.name = downstream::roleNameFor(lease.id);
  const json::value* pw = fields.if_contains("password");
  if (!pw || !pw->is_string()) return core::unavailable("no password was minted");
  role.password = std::string(pw->as_string());
  if (const json::value* rs = c->if_contains("roles"); rs && rs->is_array())
    for (const auto& r : rs->as_array())
      if (r.is_string()) role.member_of.emplace_back(r.as_string());
  role.valid_until_ms = lease.expires_at;
  role.connection_limit = it->second.connection_limit;
  if (core::Status st = it->second.admin->createRole(role); !st.ok())
    return core::Status(core::Code::kUnavailable,
                        "the database role could not be created; try again", st.detail());
  downstream::crashPoint("db_role_created");
  json::object marked = *c;
  marked["activated"] = true;
  if (core::Status st = store_.updateLeaseClaims(lease.id, json::serialize(marked)); !st.ok())
    return core::Status(core::Code::kUnavailable, "the lease could not be recorded; try again",
                        st.message());
  fields["username"] = role.name;
  return core::okStatus();
}

}  // namespace jitb::issuing
