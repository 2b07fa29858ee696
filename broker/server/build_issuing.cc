#include "broker/server/build_issuing.h"

#include <algorithm>

namespace jitb::server {

Issuing buildIssuing(const Config& cfg, IssuingDeps deps, http::Router& router) {
  Issuing is;
  is.callers = std::make_unique<TrustCallerVerifier>(*deps.keys.trust);
  is.tokens = std::make_unique<SignerTokenService>(*deps.keys.signer, cfg.public_url, deps.clock);
  is.lookup_gate = std::make_unique<issuing::LookupGate>(
      static_cast<size_t>(cfg.lookup_threads),
      issuing::PerCallerLimits{static_cast<size_t>(cfg.limits.lookups_per_caller),
                               cfg.limits.lookup_rate_per_caller,
                               std::max(10.0, 5 * cfg.limits.lookup_rate_per_caller)},
      deps.clock);
  is.issuer = std::make_unique<issuing::Issuer>(issuing::IssuerDeps{
      *is.callers, *is.tokens, &deps.pki, &deps.pki, deps.policies, deps.tickets, deps.leases,
      deps.store, deps.audit, deps.clock, deps.registry, cfg.public_url, is.lookup_gate.get()});
  issuing::addIssuingRoutes(router, *is.issuer, deps.admin);
  return is;
}

}  // namespace jitb::server
