#include "broker/api/database_api.h"

#include <boost/json.hpp>

#include "broker/api/json_body.h"
#include "broker/api/oauth.h"
#include "broker/http/errors.h"
#include "broker/http/form.h"

namespace jitb::api {

namespace json = boost::json;

core::StatusOr<DatabaseCredentialsBody> parseDatabaseCredentialsRequest(const json::object& body) {
  DatabaseCredentialsBody out;
  for (auto [key, dst] : {std::pair{"ticket", &out.ticket}, std::pair{"grant", &out.grant}}) {
    const json::value* v = body.if_contains(key);
    if (!v) continue;
    if (!v->is_string()) return core::invalidArgument("ticket and grant must be strings");
    *dst = std::string(v->as_string());
  }
  if (out.ticket.empty()) return core::invalidArgument("ticket is required");
  if (const json::value* ttl = body.if_contains("ttl")) {
    if (!ttl->is_int64() || ttl->as_int64() <= 0)
      return core::invalidArgument("ttl must be a positive whole number of seconds");
    out.ttl = std::chrono::seconds(ttl->as_int64());
  }
  return out;
}

namespace {

http::Response issued(issuing::Issued& is) {
  json::object& f = is.fields;
  json::object o{{"username", std::move(f["username"])},
                 {"password", std::move(f["password"])},
                 {"host", std::move(f["host"])},
                 {"port", std::move(f["port"])},
                 {"database", std::move(f["database"])},
                 {"valid_until", std::move(f["valid_until"])},
                 {"lease_id", is.lease_id}};
  http::Response r = http::jsonResponse(201, o);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.subject = is.subject;
  return r;
}

}  // namespace

void DatabaseApi::issue(http::Request& req, const http::Responder& respond) {
  if (!service_.canIssue(policies::CredentialKind::kDatabase))
    return respond(http::errorResponse(core::unavailable("database credentials are not configured")));
  auto body = jsonObjectBody(req);
  if (!body.ok()) return respond(http::errorResponse(body.status()));
  auto parsed = parseDatabaseCredentialsRequest(*body);
  if (!parsed.ok()) return respond(http::errorResponse(parsed.status()));
  auto caller = service_.identify(http::bearerToken(req), req.peer_cert_der);
  if (!caller.ok()) return respond(callerRefused(caller.status(), Wire::kJson, false));
  issuing::IssueRequest ir;
  ir.caller = std::move(*caller);
  ir.ticket = std::move(parsed->ticket);
  ir.kind = policies::CredentialKind::kDatabase;
  ir.grant = std::move(parsed->grant);
  ir.ttl = parsed->ttl;
  service_.issue(
      std::move(ir),
      [respond](issuing::Outcome out) {
        if (auto* is = std::get_if<issuing::Issued>(&out)) return respond(issued(*is));
        if (auto* d = std::get_if<issuing::Denial>(&out)) return respond(denialResponse(*d, Wire::kJson));
        respond(failureResponse(std::get<core::Status>(out), Wire::kJson));
      },
      respond.offloader());
}

void DatabaseApi::addRoutes(http::Router& router) {
  // Off the I/O thread: the caller's keys or ticket may be fetched, and the role is created on
  // the database before the answer.
  router.addAsync("POST", "/v1/database/credentials",
                  [this](http::Request& r, const http::Responder& res) {
                    res.offload([this, req = std::move(r), res]() mutable { issue(req, res); });
                  });
}

}  // namespace jitb::api
