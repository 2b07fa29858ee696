#include "broker/api/leases_api.h"

#include <boost/json.hpp>
#include <charconv>

#include "broker/api/json_body.h"
#include "broker/http/errors.h"

namespace jitb::api {

namespace json = boost::json;

void addLeaseRoutes(http::Router& router, store::Store& store, leases::LeaseManager& leases,
                    const AdminAuth& admin) {
  router.add("GET", "/v1/leases", [&](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    store::LeaseFilter f;
    f.ticket = req.query["ticket"];
    f.subject = req.query["subject"];
    f.grant = req.query["grant"];
    f.after_id = req.query["cursor"];
    if (auto s = req.query.find("state"); s != req.query.end() && !s->second.empty()) {
      f.state = store::leaseStateFromString(s->second);
      if (!f.state)
        return http::errorResponse(
            core::invalidArgument("state must be active, expired or revoked"));
    }
    if (auto k = req.query.find("kind"); k != req.query.end() && !k->second.empty()) {
      f.kind = store::leaseKindFromString(k->second);
      if (!f.kind) return http::errorResponse(core::invalidArgument("unknown kind " + k->second));
    }
    if (auto l = req.query.find("limit"); l != req.query.end()) {
      int n = 0;
      auto [p, ec] = std::from_chars(l->second.data(), l->second.data() + l->second.size(), n);
      if (ec != std::errc() || p != l->second.data() + l->second.size() || n < 1 || n > 1000)
        return http::errorResponse(core::invalidArgument("limit must be 1-1000"));
      f.limit = n;
    }
    auto rows = store.listLeases(f);
    if (!rows.ok()) return http::errorResponse(rows.status());
    json::array arr;
    for (const auto& l : *rows) arr.push_back(leaseJson(l));
    json::value next = rows->size() == static_cast<size_t>(f.limit)
                           ? json::value(rows->back().id)
                           : json::value(nullptr);
    return http::jsonResponse(200, {{"leases", std::move(arr)}, {"next", next}});
  });

  // Break-glass issuances waiting for review (also flagged in the audit log).
  router.add("GET", "/v1/reviews", [&](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    store::LeaseFilter f;
    f.review_only = true;
    f.after_id = req.query["cursor"];
    f.limit = 1000;
    auto rows = store.listLeases(f);
    if (!rows.ok()) return http::errorResponse(rows.status());
    json::array arr;
    for (const auto& l : *rows) {
      json::object o = leaseJson(l);
      o["review"] = "break_glass";
      arr.push_back(std::move(o));
    }
    json::value next = rows->size() == static_cast<size_t>(f.limit) ? json::value(rows->back().id)
                                                                    : json::value(nullptr);
    return http::jsonResponse(200, {{"reviews", std::move(arr)}, {"next", next}});
  });

  router.add("GET", "/v1/leases/{id}", [&](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    auto l = store.getLease(req.params["id"]);
    if (!l.ok()) return http::errorResponse(l.status());
    if (!l->has_value()) return http::errorResponse(core::notFound("no lease " + req.params["id"]));
    return http::jsonResponse(200, leaseJson(**l));
  });

  // Revocation by ticket, subject or grant (like `vault lease revoke -prefix`): the leases
  // active now that match every field given. With dry_run, the ids it would end.
  router.add("POST", "/v1/leases/revoke", [&](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    auto body = jsonObjectBody(req);
    if (!body.ok()) return http::errorResponse(body.status());
    store::LeaseFilter match;
    bool dry_run = false;
    for (const auto& kv : *body) {
      std::string key(kv.key());
      std::string* field = key == "ticket"    ? &match.ticket
                           : key == "subject" ? &match.subject
                           : key == "grant"   ? &match.grant
                                              : nullptr;
      if (field && kv.value().is_string() && !kv.value().as_string().empty()) {
        *field = kv.value().as_string();
      } else if (field) {
        return http::errorResponse(core::invalidArgument(key + " must be a non-empty string"));
      } else if (key == "dry_run" && kv.value().is_bool()) {
        dry_run = kv.value().as_bool();
      } else {
        return http::errorResponse(core::invalidArgument(
            key == "dry_run" ? "dry_run must be true or false"
                             : "unknown key '" + key + "' (ticket, subject, grant, dry_run)"));
      }
    }
    auto ids = leases.revokeMatching(match, "admin", dry_run);
    if (!ids.ok()) return http::errorResponse(ids.status());
    json::array arr;
    for (const auto& id : *ids) arr.emplace_back(id);
    return http::jsonResponse(
        200, {{"leases", std::move(arr)}, {"count", ids->size()}, {"dry_run", dry_run}});
  });

  router.add("POST", "/v1/leases/{id}/revoke", [&](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    const std::string& id = req.params["id"];
    auto changed = leases.revokeLease(id, "admin");
    if (!changed.ok()) return http::errorResponse(changed.status());
    auto l = store.getLease(id);
    if (!l.ok()) return http::errorResponse(l.status());
    if (!l->has_value()) return http::errorResponse(core::notFound("no lease " + id));
    json::object o = leaseJson(**l);
    o["changed"] = *changed;
    return http::jsonResponse(200, o);
  });
}

}  // namespace jitb::api
