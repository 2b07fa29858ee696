#include "broker/server/build_routes.h"

#include <boost/json.hpp>

#include "broker/http/errors.h"

namespace jitb::server {

void Readiness::add(std::string name, std::function<bool()> check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

void Readiness::addField(std::string name, std::function<boost::json::value()> value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

http::Response Readiness::respond() const {
  boost::json::array failing;
  for (const auto& [name, check] : checks_)
    if (!check()) failing.emplace_back(name);
  boost::json::object o;
  o["status"] = failing.empty() ? "ready" : "not_ready";
  const bool ready = failing.empty();
  if (!ready) o["failing"] = std::move(failing);
  for (const auto& [name, value] : fields_) o[name] = value();
  return http::jsonResponse(ready ? 200 : 503, o);
}

void addProbeRoutes(http::Router& router, const Readiness& ready, metrics::Registry& registry) {
  router.addInline("GET", "/healthz", [](http::Request&) {
    return http::jsonResponse(200, boost::json::object{{"status", "ok"}});
  });
  router.add("GET", "/readyz", [&ready](http::Request&) { return ready.respond(); });
  router.add("GET", "/metrics", [&registry](http::Request&) {
    http::Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = registry.render();
    return r;
  });
}

void addKeyRoutes(http::Router& router, jose::TokenSigner& signer, const api::AdminAuth& admin,
                  const core::Clock& clock, audit::AuditSink& audit,
                  std::optional<std::chrono::milliseconds> jwks_max_age) {
  router.add("POST", "/v1/keys/rotate", [&signer, &admin, &clock, &audit](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    std::string old_kid = signer.kid();
    if (core::Status st = signer.rotate(clock.now()); !st.ok()) return http::errorResponse(st);
    // In two phases (keys in the store) the new key is published now and signs later.
    const std::string kid = signer.newestKid(), signing = signer.kid();
    (void)audit.append("keys.rotated", {{"previous_kid", old_kid}, {"kid", kid}});
    return http::jsonResponse(200,
                              {{"kid", kid}, {"previous_kid", old_kid}, {"signing_kid", signing}});
  });
  std::string cache;
  if (jwks_max_age)
    cache = "public, max-age=" +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*jwks_max_age).count());
  router.add("GET", "/.well-known/jwks.json", [&signer, cache](http::Request&) {
    http::Response r = http::jsonResponse(200, signer.jwks());
    if (!cache.empty()) r.headers.emplace_back("Cache-Control", cache);
    return r;
  });
}

void addOpenIdConfiguration(http::Router& router, std::string public_url) {
  router.add(
      "GET", "/.well-known/openid-configuration", [u = std::move(public_url)](http::Request&) {
        return http::jsonResponse(
            200, {{"issuer", u},
                  {"jwks_uri", u + "/.well-known/jwks.json"},
                  {"token_endpoint", u + "/v1/token"},
                  {"introspection_endpoint", u + "/v1/introspect"},
                  {"revocation_endpoint", u + "/v1/revoke"},
                  {"grant_types_supported", {"urn:ietf:params:oauth:grant-type:token-exchange"}},
                  {"id_token_signing_alg_values_supported", {"ES256"}}});
      });
}

void addPolicyReloadRoute(http::Router& router, PolicyReloader& reloader,
                          const api::AdminAuth& admin) {
  router.add("POST", "/v1/policies/reload", [&reloader, &admin](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    core::Status st = reloader.reload();
    if (!st.ok()) return http::errorResponse(st);
    return http::jsonResponse(200, {{"outcome", "reloaded"}});
  });
}

}  // namespace jitb::server
