#include "broker/server/build_issuing.h"

#include <algorithm>

#include "broker/core/log.h"

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
  is.service = std::make_unique<issuing::IssuanceService>(issuing::ServiceDeps{
      *is.callers, *is.tokens, &deps.pki, deps.policies, deps.tickets, deps.leases, deps.store,
      deps.audit, deps.clock, deps.registry});
  is.token_minter = std::make_unique<issuing::TokenMinter>(*is.tokens, cfg.public_url);
  is.certificate_minter = std::make_unique<issuing::CertificateMinter>(deps.pki);
  is.service->addMinter(*is.token_minter);
  is.service->addMinter(*is.certificate_minter);
  auto ssh =
      buildSsh(cfg, deps.store, deps.clock, deps.registry, deps.leases, router, deps.keys.shared);
  if (!ssh.ok()) {
    is.failed = ssh.status();
    return is;
  }
  is.ssh = std::move(*ssh);
  is.service->addMinter(*is.ssh.minter);
  // Where a request may wait on the network is the adapter's business: the hints come from
  // the trust store (an issuer's keys to fetch) and the refresher (a stale ticket).
  jose::TrustStore& trust = *deps.keys.trust;
  tickets::Refresher& refresher = deps.tickets;
  is.api = std::make_unique<api::IssuingApi>(api::IssuingApiDeps{
      *is.service, deps.registry, is.lookup_gate.get(),
      [&trust](std::string_view jwt) { return trust.mayFetch(jwt); },
      [&refresher](const std::string& ticket) { return refresher.mayBlock(ticket); }});
  is.api->addRoutes(router, deps.admin);
  if (deps.databases && !deps.databases->empty()) {
    is.database_minter = std::make_unique<issuing::DatabaseMinter>(*deps.databases, deps.store);
    is.service->addMinter(*is.database_minter);
  }
  // Registered either way: without `databases:` it answers 503, as certificates do without a CA.
  is.database_api = std::make_unique<api::DatabaseApi>(*is.service);
  is.database_api->addRoutes(router);

  is.acme_minter = std::make_unique<issuing::AcmeAccountMinter>();
  is.service->addMinter(*is.acme_minter);
  is.http01 = std::make_unique<acme::SocketHttp01Client>(
      static_cast<uint16_t>(cfg.acme.http01_port), cfg.acme.http01_address,
      std::chrono::seconds(10));
  is.acme = std::make_unique<acme::AcmeService>(
      acme::AcmeDeps{deps.store, *is.service, deps.leases, deps.clock, *is.http01,
                     cfg.public_url + "/acme", &deps.registry, cfg.acme.reject_nonce_every});
  if (cfg.acme.reject_nonce_every > 0)
    core::logEvent("warning", "acme", "acme.reject_nonce_every",
                   {{"message", "testing aid on: one request in " +
                                    std::to_string(cfg.acme.reject_nonce_every) +
                                    " of each ACME key is answered badNonce"}});
  if (core::Status st = is.acme->init(); !st.ok()) {
    // The rest of the broker still serves; ACME answers 404 until a restart finds the store.
    core::logEvent("error", "acme", "acme.disabled", {{"message", st.message()}});
    return is;
  }
  deps.leases.addListener([acme = is.acme.get()](const std::vector<store::EndedLease>& ended,
                                                 store::LeaseState s) { acme->leasesEnded(ended, s); });
  is.acme_api = std::make_unique<api::AcmeApi>(
      api::AcmeApiDeps{*is.acme, *is.service, cfg.public_url + "/acme/directory"});
  is.acme_api->addRoutes(router);
  return is;
}

}  // namespace jitb::server
