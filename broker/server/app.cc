#include "broker/server/app.h"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>

#include "broker/core/files.h"
#include "broker/http/server.h"
#include "broker/issuing/lease_review.h"
#include "broker/server/build_ca.h"
#include "broker/server/build_databases.h"
#include "broker/server/build_issuing.h"
#include "broker/server/build_keys.h"
#include "broker/server/build_leases.h"
#include "broker/server/build_policies.h"
#include "broker/server/build_replicas.h"
#include "broker/server/build_routes.h"
#include "broker/server/build_store.h"
#include "broker/server/build_support.h"
#include "broker/server/build_tickets.h"
#include "broker/server/console_routes.h"
#include "broker/server/reference_routes.h"
#include "broker/api/audit_api.h"
#include "broker/api/explain_api.h"
#include "broker/api/operators_api.h"
#include "broker/api/revocations_api.h"
#include "broker/operators/operator_tokens.h"

namespace jitb::server {

namespace {

http::ServerOptions serverOptions(const Config& cfg, const std::function<void()>& reload_hook) {
  http::ServerOptions opts;
  opts.host = cfg.listen_host;
  opts.port = cfg.listen_port;
  opts.threads = cfg.threads;
  opts.max_body_bytes = static_cast<size_t>(cfg.limits.max_body_bytes);
  opts.max_connections = static_cast<size_t>(cfg.limits.max_connections);
  opts.max_connections_per_address = static_cast<size_t>(cfg.limits.max_connections_per_address);
  opts.handshake_timeout = cfg.limits.handshake_timeout;
  opts.read_timeout = cfg.limits.read_timeout;
  opts.access_log = [](const http::AccessRecord& r) { logLine(http::formatAccessLog(r)); };
  // SIGHUP: `reload_hook` is read when the signal comes, by then set to the policy reload.
  opts.on_reload = [&reload_hook] {
    if (reload_hook) reload_hook();
  };
  return opts;
}

// The folder of the running binary, where jitctl is built beside jitbroker.
std::string selfDir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

void printBanner(const Config& cfg, const TlsIdentity& tls, uint16_t port) {
  const std::string& url = cfg.public_url;
  if (cfg.dev) {
    std::string j = selfDir() + "/jitctl";
    const char* d = cfg.data_dir.c_str();
    std::printf(
        "\n  jitbroker dev (embedded default, data in %s)\n"
        "  URL:          %s\n"
        "  CA bundle:    %s\n"
        "  admin token:  %s/admin.token\n"
        "  webhook key:  %s\n"
        // Exported, not set for one command: a newcomer pastes these and goes on in that shell
        // (docs/getting-started.md), where the next `jitctl token` needs the same identity.
        "  try it:\n"
        "    export JITBROKER_URL=%s JITBROKER_CA=%s\n"
        "    %s dev ticket --data-dir %s --id CHG0001 --state approved --subject alice "
        "--access deploy\n"
        "    export JITBROKER_SUBJECT_TOKEN=$(%s dev subject-token --data-dir %s --sub alice)\n"
        "    %s token --ticket CHG0001\n"
        "    curl --cacert %s %s/healthz\n\n",
        d, url.c_str(), tls.ca_bundle.c_str(), d, cfg.webhook_secret_file.c_str(), url.c_str(),
        tls.ca_bundle.c_str(), j.c_str(), d, j.c_str(), d, j.c_str(), tls.ca_bundle.c_str(),
        url.c_str());
  }
  // Last, so that a script waiting for this line has the whole banner.
  std::printf("jitbroker listening on https://%s:%u\n", cfg.listen_host.c_str(), port);
  std::fflush(stdout);
}

}  // namespace

int runBroker(Config cfg) {
  // Each step logs why it failed and the broker exits 1.
  auto fail = [](const core::Status& st) {
    logLine("jitbroker: " + st.message());
    return 1;
  };
  if (core::Status st = core::ensureDir(cfg.data_dir); !st.ok()) return fail(st);
  const bool derive_url = cfg.public_url.empty();
  applyDefaults(cfg, cfg.listen_port);
  auto admin = core::readOrCreateSecret(cfg.data_dir + "/admin.token");
  auto webhook = core::readOrCreateSecret(cfg.webhook_secret_file);
  if (!admin.ok() || !webhook.ok()) return fail(!admin.ok() ? admin.status() : webhook.status());
  api::AdminAuth admin_auth(*admin);

  metrics::Registry registry;
  registry.declareGauge("process_start_time_seconds", "Start time of the process, Unix seconds.");
  registry.set("process_start_time_seconds", {}, static_cast<double>(std::time(nullptr)));
  Readiness ready;
  http::Router router;
  addProbeRoutes(router, ready, registry);

  std::function<void()> reload_hook;  // set once the policies are loaded, before serving
  http::HttpsServer server(serverOptions(cfg, reload_hook), router, registry);
  if (core::Status st = server.listen(); !st.ok()) return fail(st);
  if (cfg.listen_port == 0 && derive_url) {
    cfg.public_url.clear();  // derive it again from the port actually bound
    applyDefaults(cfg, server.port());
  }
  core::SystemClock clock;

  auto storage = buildStore(cfg, clock);
  if (!storage.ok()) return fail(storage.status());
  store::Store& store = *storage->store;
  // With keys.kek_file the CA and the signing keys are the store's, sealed under the KEK.
  auto shared_keys = buildSharedKeyStore(cfg, store);
  if (!shared_keys.ok()) return fail(shared_keys.status());

  // The CA, now that public_url (the base of its CRL and OCSP URLs) is known.
  auto ca_parts = buildCa(cfg, clock.now(), shared_keys->get());
  if (!ca_parts.ok()) return fail(ca_parts.status());
  if (core::Status st =
          server.loadTls(ca_parts->tls.cert_file, ca_parts->tls.key_file, ca_parts->client_ca);
      !st.ok())
    return fail(st);

  audit::AuditSink& audit = storage->sink();
  auto made_leases = buildLeases(cfg, store, audit, *storage->audit, clock, registry);
  if (!made_leases.ok()) return fail(made_leases.status());
  leases::LeaseManager& lease_manager = **made_leases;
  // The decision in force; every ticket change and policy reload has the leases judged again
  // by it (issuing::LeaseReviewer).
  issuing::PolicyHolder policy_holder;
  issuing::LeaseReviewer lease_reviewer(policy_holder, store, lease_manager, clock);
  auto ticket_parts = buildTickets(
      cfg, {store, lease_manager, lease_reviewer, audit, clock, registry, admin_auth, *webhook},
      router);
  if (!ticket_parts.ok()) return fail(ticket_parts.status());
  ready.add("store", [&store] { return store.getTicket("readyz-probe").ok(); });

  auto keys = buildKeys(cfg, clock.now(), shared_keys->get(), &clock);
  if (!keys.ok()) return fail(keys.status());
  auto reloader = buildPolicies(cfg, policy_holder, audit, registry, [&lease_reviewer] {
    auto ended = lease_reviewer.reviewAll("policy_changed");
    return ended.ok() ? core::okStatus() : ended.status();
  });
  if (!reloader.ok()) return fail(reloader.status());
  reload_hook = [&reloader] {
    core::Status st = (*reloader)->reload();
    logLine(st.ok() ? "{\"event\":\"policy.reloaded\"}"
                    : "{\"event\":\"policy.reload_failed\",\"error\":" +
                          boost::json::serialize(boost::json::value(st.message())) + "}");
  };
  addPolicyReloadRoute(router, **reloader, admin_auth);

  auto pki_service =
      buildPki(cfg, *ca_parts->authority, store, clock, registry, lease_manager, router);
  // The leader row: which replica rebuilds the shared CRL (a lone broker on SQLite always leads).
  store::Leader leader(store, storage->replica_id.empty() ? "local" : storage->replica_id, clock);
  leader.poll();
  pki_service->useSharedCrl(leader);
  ready.addField("leader", [&leader] { return boost::json::value(leader.leads()); });
  auto databases = buildDatabases(cfg, store, audit, clock, lease_manager, policy_holder);
  if (!databases.ok()) return fail(databases.status());
  Issuing issuance = buildIssuing(cfg,
                                  {*keys, *pki_service, policy_holder, *ticket_parts->refresher,
                                   lease_manager, store, audit, clock, registry, admin_auth,
                                   &(*databases)->targets},
                                  router);
  if (!issuance.failed.ok()) return fail(issuance.failed);
  // Several replicas on PostgreSQL: the others' revocations reach this one's caches, and a
  // replica that cannot reach the store fails closed (it would not see them).
  auto replicas =
      buildReplicas(cfg, store, lease_manager, *ticket_parts->service, clock, registry);
  if (!replicas.ok()) return fail(replicas.status());
  if (*replicas) {
    leases::StoreHealth* health = (*replicas)->health.get();
    issuance.service->setAvailability([health] { return health->check(); });
    pki_service->setAvailability([health] { return health->reachable(); });
    ready.add("store_reachable", [health] { return health->reachable(); });
  }
  addKeyRoutes(router, *keys->signer, admin_auth, clock, audit,
               *shared_keys ? std::optional(cfg.keys.jwks_max_age) : std::nullopt);
  addOpenIdConfiguration(router, cfg.public_url);
  ready.add("keys", [&keys] { return keys->signer->keySet() != nullptr; });
  ready.add("policies", [&policy_holder] { return policy_holder.get() != nullptr; });
  ready.add("leases", [&lease_manager] { return lease_manager.ready(); });

  auto hooks = buildHooks(cfg, store, audit, clock, registry, lease_manager);
  if (!hooks.ok()) return fail(hooks.status());
  // People's tokens with a role; the admin routes above take them from here on (nothing is
  // served before run()).
  operators::OperatorTokens operator_tokens(store, lease_manager, audit, clock);
  admin_auth.useOperators(&operator_tokens, &audit);
  api::addOperatorRoutes(router, operator_tokens, store, audit, admin_auth);
  api::addAuditRoutes(router, cfg.data_dir + "/audit.log", admin_auth);
  api::addRevocationRoute(router, cfg.data_dir + "/audit.log", store, admin_auth);
  api::addExplainRoute(router, policy_holder, store, clock, admin_auth);
  addConsoleRoutes(router);
  addReferenceRoutes(router, admin_auth);  // last: GET /v1/routes lists every route above

  // Settle what ended while the broker was down before the first request is served;
  // connections wait in the listen backlog meanwhile.
  if (core::Status st = lease_manager.start(); !st.ok())
    return fail(prefixed("cannot restore leases: ", st));
  // The policy files may have changed while the broker was down: what they no longer allow
  // ends before the first request, as after a reload.
  if (auto ended = lease_reviewer.reviewAll("policy_changed"); !ended.ok())
    return fail(prefixed("cannot judge the active leases again: ", ended.status()));
  if (*hooks) (*hooks)->start();
  if ((*databases)->revoker) (*databases)->revoker->start();
  ticket_parts->itsm->start();
  leader.start();
  if (*replicas) pki_service->startLeaderBuilds();  // the store keeps the CRL
  printBanner(cfg, ca_parts->tls, server.port());
  server.run();
  issuance.lookup_gate->stop();
  ticket_parts->itsm->stop();
  if (*hooks) (*hooks)->stop();
  if ((*databases)->revoker) (*databases)->revoker->stop();
  if (*replicas) (*replicas)->stop();
  lease_manager.stop();
  pki_service->stop();
  leader.stop();
  // Writes still queued (a drain that timed out) run, and their completions return, before
  // the objects those completions use are destroyed.
  storage->close_store();
  storage->audit->close();
  logLine("{\"event\":\"shutdown\",\"message\":\"drained, exiting\"}");
  return 0;
}

}  // namespace jitb::server
