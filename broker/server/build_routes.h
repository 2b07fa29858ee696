// The composition root's own routes: probes and metrics, the token-signing keys and the
// OpenID discovery document, the policy reload. Every other route belongs to a module
// (api/, pki/, issuing/) and is added by that module's builder.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/api/admin.h"
#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/http/router.h"
#include "broker/jose/signer.h"
#include "broker/metrics/registry.h"
#include "broker/server/policy_loader.h"

namespace jitb::server {

// Named readiness conditions; /readyz is ready when every one holds. Add every check before
// serving; checks run on a handler thread and must be thread-safe.
class Readiness {
 public:
  void add(std::string name, std::function<bool()> check);
  // 200 {"status":"ready"}, or 503 {"status":"not_ready","failing":[names, in order added]}.
  http::Response respond() const;
  // A field of every answer that is no check (whether this replica leads).
  void addField(std::string name, std::function<boost::json::value()> value);

 private:
  std::vector<std::pair<std::string, std::function<bool()>>> checks_;
  std::vector<std::pair<std::string, std::function<boost::json::value()>>> fields_;
};

// GET /healthz, /readyz, /metrics. `ready` and `registry` must outlive the router.
void addProbeRoutes(http::Router& router, const Readiness& ready, metrics::Registry& registry);

// POST /v1/keys/rotate (admin) and GET /.well-known/jwks.json. The previous key stays in the
// JWKS until its tokens expire. With `jwks_max_age` (keys in the store, rotated in two phases)
// the JWKS says how long it may be cached; the rotation answers the new key's kid and the one
// that signs until the new one's turn comes.
void addKeyRoutes(http::Router& router, jose::TokenSigner& signer, const api::AdminAuth& admin,
                  const core::Clock& clock, audit::AuditSink& audit,
                  std::optional<std::chrono::milliseconds> jwks_max_age = std::nullopt);

// GET /.well-known/openid-configuration: the endpoints under `public_url`.
void addOpenIdConfiguration(http::Router& router, std::string public_url);

// POST /v1/policies/reload (admin).
void addPolicyReloadRoute(http::Router& router, PolicyReloader& reloader,
                          const api::AdminAuth& admin);

}  // namespace jitb::server
