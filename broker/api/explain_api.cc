#include "broker/api/explain_api.h"

#include <boost/json.hpp>

#include "broker/api/json_body.h"
#include "broker/http/errors.h"
#include "broker/issuing/explain.h"

namespace jitb::api {

namespace json = boost::json;

void addExplainRoute(http::Router& router, const issuing::PolicyHolder& policies,
                     store::Store& store, const core::Clock& clock, const AdminAuth& admin) {
  router.add("POST", "/v1/policies/explain", [&policies, &store, &clock, &admin](http::Request& req) {
    if (auto denied = admin.check(req, AdminAuth::Need::kRead)) return *denied;
    auto body = jsonObjectBody(req);
    if (!body.ok()) return http::errorResponse(body.status());
    std::string ticket;
    const json::object* claims = nullptr;
    policies::IssueRequest want;
    for (const auto& kv : *body) {
      const std::string key(kv.key());
      const json::string* s = kv.value().if_string();
      if (key == "ticket" && s && !s->empty()) {
        ticket = *s;
      } else if (key == "claims" && kv.value().is_object()) {
        claims = &kv.value().as_object();
      } else if (key == "kind" && s && (*s == "token" || *s == "certificate")) {
        want.kind = *s == "token" ? policies::CredentialKind::kToken
                                  : policies::CredentialKind::kCertificate;
      } else if (key == "grant" && s) {
        want.grant = *s;
      } else {
        return http::errorResponse(core::invalidArgument(
            "'" + key + "': expected ticket (id), claims (object), kind (token|certificate), grant"));
      }
    }
    if (ticket.empty() || !claims)
      return http::errorResponse(core::invalidArgument("ticket and claims are required"));
    auto d = issuing::explain(policies, store, ticket, *claims, want, clock.now());
    if (!d.ok()) return http::errorResponse(d.status());
    json::error_code ec;
    json::value basis = json::parse(d->basisText(), ec);
    if (ec || !basis.is_object())
      return http::errorResponse(core::Status(core::Code::kInternal, "the basis is not JSON"));
    return http::jsonResponse(200, basis.as_object());
  });
}

}  // namespace jitb::api
