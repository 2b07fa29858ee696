#include "broker/api/operators_api.h"

#include <boost/json.hpp>

#include "broker/api/json_body.h"
#include "broker/core/duration.h"
#include "broker/core/encoding.h"
#include "broker/http/errors.h"

namespace jitb::api {

namespace json = boost::json;

namespace {

struct TokenRequest {
  operators::Role role = operators::Role::kAuditor;
  std::string name;
  std::chrono::milliseconds ttl{0};
};

core::StatusOr<TokenRequest> parseTokenRequest(const json::object& body) {
  TokenRequest out;
  bool role = false, name = false, ttl = false;
  for (const auto& kv : body) {
    const std::string key(kv.key());
    const json::string* text = kv.value().if_string();
    if (key == "role" && text) {
      auto r = operators::roleFromString(*text);
      if (!r) return core::invalidArgument("role must be admin or auditor");
      out.role = *r;
      role = true;
    } else if (key == "name" && text) {
      out.name = *text;
      name = true;
    } else if (key == "ttl" && text) {
      auto d = core::parseDuration(*text);
      if (!d) return core::invalidArgument("ttl must be a duration such as 8h or 30m");
      out.ttl = *d;
      ttl = true;
    } else if (key == "role" || key == "name" || key == "ttl") {
      return core::invalidArgument(key + " must be a string");
    } else {
      return core::invalidArgument("unknown key '" + key + "' (role, name, ttl)");
    }
  }
  if (!role || !name || !ttl) return core::invalidArgument("role, name and ttl are required");
  return out;
}

}  // namespace

void addOperatorRoutes(http::Router& router, operators::OperatorTokens& tokens,
                       store::Store& store, audit::AuditSink& audit, const AdminAuth& admin) {
  router.add("POST", "/v1/operator-tokens", [&tokens, &admin](http::Request& req) {
    operators::Operator who;
    if (auto denied = admin.check(req, &who)) return *denied;
    auto body = jsonObjectBody(req);
    if (!body.ok()) return http::errorResponse(body.status());
    auto want = parseTokenRequest(*body);
    if (!want.ok()) return http::errorResponse(want.status());
    auto made = tokens.issue(want->role, want->name, want->ttl, who);
    if (!made.ok()) return http::errorResponse(made.status());
    http::Response r = http::jsonResponse(
        201, {{"token", made->token},
              {"lease_id", made->lease_id},
              {"role", operators::toString(want->role)},
              {"expires_at", rfc3339Ms(made->expires_at)}});
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });

  // Who the presented token is: the console shows it and hides nothing else by it (the
  // routes themselves refuse what the role may not do).
  router.add("GET", "/v1/operator-tokens/self", [&admin](http::Request& req) {
    operators::Operator who;
    if (auto denied = admin.check(req, &who)) return *denied;
    return http::jsonResponse(200, {{"name", who.name},
                                    {"role", operators::toString(who.role)},
                                    {"lease_id", who.lease_id}});
  });

  router.add("POST", "/v1/reviews/{id}", [&store, &audit, &admin](http::Request& req) {
    operators::Operator who;
    if (auto denied = admin.check(req, &who)) return *denied;
    auto body = jsonObjectBody(req);
    if (!body.ok()) return http::errorResponse(body.status());
    std::string comment;
    for (const auto& kv : *body) {
      if (kv.key() == "comment" && kv.value().is_string()) {
        comment = kv.value().as_string();
      } else {
        return http::errorResponse(core::invalidArgument(
            kv.key() == "comment" ? "comment must be a string"
                                  : "unknown key '" + std::string(kv.key()) + "' (comment)"));
      }
    }
    if (comment.empty() || comment.size() > 4096 || !core::validUtf8(comment))
      return http::errorResponse(
          core::invalidArgument("comment is required: 1-4096 characters of UTF-8"));
    const std::string& id = req.params["id"];
    auto lease = store.getLease(id);
    if (!lease.ok()) return http::errorResponse(lease.status());
    if (!lease->has_value() || !(*lease)->review)
      return http::errorResponse(core::notFound("no break-glass lease " + id));
    if ((*lease)->reviewed)
      return http::errorResponse(core::conflict("the review of " + id + " is already done"));
    // Audited first: a review is never marked done without its comment in the chain. When two
    // admins race, the store's conditional write lets one through; the other gets 409.
    if (core::Status st = audit.append("review.done", {{"lease", id},
                                                       {"ticket", (*lease)->ticket},
                                                       {"comment", comment},
                                                       {"by", who.name},
                                                       {"by_lease", who.lease_id}});
        !st.ok())
      return http::errorResponse(st);
    auto changed = store.markReviewed(id);
    if (!changed.ok()) return http::errorResponse(changed.status());
    if (!*changed) {
      // Lost the race: the chain says so, so that the record above is not read as the review.
      (void)audit.append("review.already_done", {{"lease", id}, {"by", who.name}});
      return http::errorResponse(core::conflict("the review of " + id + " is already done"));
    }
    return http::jsonResponse(200, {{"lease_id", id}, {"review", "done"}, {"by", who.name}});
  });
}

}  // namespace jitb::api
