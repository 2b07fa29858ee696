#include "broker/api/json_body.h"

#include "broker/core/duration.h"
#include "broker/downstream/role_sql.h"
#include "broker/http/form.h"
#include "broker/tickets/webhook.h"

namespace jitb::api {

namespace json = boost::json;

core::StatusOr<json::object> signedJsonObjectBody(const http::Request& req,
                                                  std::string_view secret, core::TimePoint now) {
  core::Status sig = tickets::verifySignature(req.header("x-jitbroker-signature"), req.body,
                                              secret, now);
  if (!sig.ok()) return sig;
  return jsonObjectBody(req);
}

core::StatusOr<json::object> jsonObjectBody(const http::Request& req) {
  if (!http::hasContentType(req, "application/json"))
    return core::Status(core::Code::kUnsupportedMedia, "the body must be application/json");
  json::error_code ec;
  // Bounded depth: a deeply nested body is refused, not recursed into.
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(req.body, ec, {}, opts);
  if (ec) return core::invalidArgument("the body is not valid JSON");
  if (!v.is_object()) return core::invalidArgument("the body must be a JSON object");
  return std::move(v.as_object());
}

std::string rfc3339Ms(int64_t ms) {
  return core::formatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

namespace {

// A database lease: its database, role and group roles, and how far its revocation went
// ("revocation": login_disabled, membership_revoked, sessions_terminated, role_dropped...).
void addDatabaseFields(const store::LeaseRow& l, json::object& o) {
  json::error_code ec;
  json::value claims = json::parse(l.claims, ec);
  if (ec || !claims.is_object()) return;
  for (const char* k : {"database", "roles", "revocation"})
    if (const json::value* v = claims.as_object().if_contains(k)) o[k] = *v;
  o["username"] = downstream::roleNameFor(l.id);
}

}  // namespace

json::object leaseJson(const store::LeaseRow& l) {
  json::object o;
  o["id"] = l.id;
  o["kind"] = store::toString(l.kind);
  o["ticket"] = l.ticket;
  o["grant"] = l.grant;
  o["subject"] = l.subject;
  o["caller_issuer"] = l.caller_issuer;
  o["state"] = store::toString(l.state);
  o["issued_at"] = rfc3339Ms(l.issued_at);
  o["expires_at"] = rfc3339Ms(l.expires_at);
  o["ended_at"] = l.ended_at ? json::value(rfc3339Ms(l.ended_at)) : json::value(nullptr);
  o["reason"] = l.reason.empty() ? json::value(nullptr) : json::value(l.reason);
  if (l.kind == store::LeaseKind::kToken) o["jti"] = l.jti;
  else if (l.kind == store::LeaseKind::kDatabase) addDatabaseFields(l, o);
  else o["serial"] = l.serial;
  return o;
}

}  // namespace jitb::api
