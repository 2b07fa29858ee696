#include "broker/server/app.h"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <ctime>
#include <mutex>

#include "broker/api/issuing_api.h"
#include "broker/api/leases_api.h"
#include "broker/api/tickets_api.h"
#include "broker/audit/audit_log.h"
#include "broker/core/files.h"
#include "broker/core/log.h"
#include "broker/http/errors.h"
#include "broker/http/server.h"
#include "broker/issuing/certificate_minter.h"
#include "broker/issuing/service.h"
#include "broker/issuing/token_minter.h"
#include "broker/issuing/lease_review.h"
#include "broker/jose/signer.h"
#include "broker/jose/verifier.h"
#include "broker/leases/hook_dispatcher.h"
#include "broker/leases/issuance_records.h"
#include "broker/leases/lease_manager.h"
#include "broker/pki/pki_service.h"
#include "broker/server/adapters.h"
#include "broker/server/itsm_wiring.h"
#include "broker/server/policy_loader.h"
#include "broker/server/reference_routes.h"
#include "broker/server/tls_identity.h"
#include "clients/lib/https_client.h"
#include "broker/store/sqlite_store.h"
#include "broker/tickets/service.h"

namespace jitb::server {

namespace {

// The issuer name of dev mode's local OIDC issuer (trusted only by `jitbroker dev`).
constexpr const char* kDevIssuer = "jitbroker-dev";

// Named readiness conditions; /readyz is ready when every one holds.
class Readiness {
 public:
  void add(std::string name, std::function<bool()> check) {
    checks_.emplace_back(std::move(name), std::move(check));
  }
  http::Response respond() const {
    boost::json::array failing;
    for (const auto& [name, check] : checks_)
      if (!check()) failing.emplace_back(name);
    boost::json::object o;
    o["status"] = failing.empty() ? "ready" : "not_ready";
    if (!failing.empty()) o["failing"] = std::move(failing);
    return http::jsonResponse(o.contains("failing") ? 503 : 200, o);
  }

 private:
  std::vector<std::pair<std::string, std::function<bool()>>> checks_;
};

// The store, its WAL and shm were made 0644 before the broker set its umask; SQLite gives the
// WAL and shm the main file's mode, so tightening the main file once fixes the rest for good.
void tightenStoreFiles(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::string path = db + suffix;
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
      ::chmod(path.c_str(), 0600);
  }
}

void logLine(const std::string& line) {
  // One write per line keeps concurrent lines whole.
  std::string l = line + "\n";
  std::fwrite(l.data(), 1, l.size(), stderr);
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
  if (core::Status st = core::ensureDir(cfg.data_dir); !st.ok()) {
    logLine("jitbroker: " + st.message());
    return 1;
  }
  const bool derive_url = cfg.public_url.empty();
  applyDefaults(cfg, cfg.listen_port);
  auto admin = core::readOrCreateSecret(cfg.data_dir + "/admin.token");
  auto webhook = core::readOrCreateSecret(cfg.webhook_secret_file);
  if (!admin.ok() || !webhook.ok()) {
    logLine("jitbroker: " + (!admin.ok() ? admin.status() : webhook.status()).message());
    return 1;
  }

  metrics::Registry registry;
  registry.declareGauge("process_start_time_seconds", "Start time of the process, Unix seconds.");
  registry.set("process_start_time_seconds", {}, static_cast<double>(std::time(nullptr)));

  Readiness ready;

  http::Router router;
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
  std::function<void()> reload_hook;  // set once the policies are loaded, before serving
  opts.on_reload = [&reload_hook] {
    if (reload_hook) reload_hook();
  };

  http::HttpsServer server(opts, router, registry);
  if (core::Status st = server.listen(); !st.ok()) {
    logLine("jitbroker: " + st.message());
    return 1;
  }
  if (cfg.listen_port == 0 && derive_url) {
    cfg.public_url.clear();  // derive it again from the port actually bound
    applyDefaults(cfg, server.port());
  }
  core::SystemClock clock;

  // The CA, now that public_url (the base of its CRL and OCSP URLs) is known.
  ca::CaConfig ca_cfg;
  ca_cfg.dir = cfg.data_dir + "/ca";
  ca_cfg.algorithm = *ca::keyAlgorithmFromName(cfg.ca.algorithm);
  ca_cfg.public_url = cfg.public_url;
  ca_cfg.backdate = std::chrono::duration_cast<std::chrono::seconds>(cfg.ca.backdate);
  ca_cfg.intermediate_cert_file = cfg.ca.intermediate_cert_file;
  ca_cfg.intermediate_key_file = cfg.ca.intermediate_key_file;
  ca_cfg.root_cert_file = cfg.ca.root_cert_file;
  auto authority = ca::CertificateAuthority::bootstrap(ca_cfg, clock.now());
  if (!authority.ok()) {
    logLine("jitbroker: CA: " + authority.error().message);
    return 1;
  }
  if (cfg.ca.intermediate_cert_file.empty() && !(*authority)->rootKeyOnline())
    logLine("{\"event\":\"ca.root_key_offline\",\"message\":\"the root CA key is offline; "
            "issuing, CRLs and OCSP use the intermediate alone\"}");
  TlsIdentity tls;
  if (cfg.tls) {
    tls = {cfg.tls->cert_file, cfg.tls->key_file, cfg.tls->cert_file};
  } else {
    std::vector<std::string> hosts = {cfg.listen_host};
    if (cfg.listen_host != "localhost") hosts.push_back("localhost");
    auto made = ensureServerTls(**authority, cfg.data_dir, hosts, clock.now());
    if (!made.ok()) {
      logLine("jitbroker: " + made.status().message());
      return 1;
    }
    tls = *made;
  }
  // Client certificates from our own CA are accepted (optional) for mTLS callers. The chain is
  // public (0644, docs/operations.md); everything else in data_dir is owner-only.
  std::string client_ca = cfg.data_dir + "/ca/chain.pem";
  std::string chain_text;
  for (const auto& pem : (*authority)->chainPem()) chain_text += pem;
  if (core::Status st = core::writeFileAtomic(client_ca, chain_text, 0644); !st.ok()) {
    logLine("jitbroker: " + st.message());
    return 1;
  }
  if (core::Status st = server.loadTls(tls.cert_file, tls.key_file, client_ca); !st.ok()) {
    logLine("jitbroker: " + st.message());
    return 1;
  }

  if (!cfg.postgres_url.empty()) {
    logLine("jitbroker: store.postgres is not supported yet; use store.sqlite");
    return 1;
  }
  tightenStoreFiles(cfg.sqlite_path);
  auto store = store::SqliteStore::open(cfg.sqlite_path);
  if (!store.ok()) {
    logLine("jitbroker: " + store.status().message());
    return 1;
  }
  auto audit = audit::AuditLog::open(cfg.data_dir + "/audit.log", clock,
                                     static_cast<uint64_t>(cfg.limits.audit_log_max_bytes));
  if (!audit.ok()) {
    logLine("jitbroker: " + audit.status().message());
    return 1;
  }
  if (auto restored = leases::restoreIssuanceRecords(**store, **audit); !restored.ok()) {
    logLine("jitbroker: restoring the audit log's last issuances: " + restored.status().message());
    return 1;
  } else if (*restored > 0) {
    logLine("jitbroker: the audit log had lost the records of " + std::to_string(*restored) +
            " issuance(s); restored from the store, marked recovered");
  }
  leases::LeaseManager lease_manager(
      **store, **audit, clock,
      {cfg.limits.max_active_leases_per_subject, cfg.limits.max_active_leases_per_ticket},
      registry);
  // The decision in force; every ticket change and policy reload has the leases judged again
  // by it (issuing::LeaseReviewer).
  issuing::PolicyHolder policy_holder;
  issuing::LeaseReviewer lease_reviewer(policy_holder, **store, lease_manager, clock);
  tickets::TicketService ticket_service(**store, lease_manager, lease_reviewer, **audit, clock);
  api::AdminAuth admin_auth(*admin);
  tickets::Refresher refresher(ticket_service, clock, cfg.ticket_max_age, cfg.ticket_negative_ttl);
  api::addTicketRoutes(router, {ticket_service, **store, admin_auth, *webhook, clock,
                                [&refresher](std::string_view id) {
                                  auto* s = refresher.sourceFor(id);
                                  return s ? std::string(s->name()) : std::string();
                                }});
  api::addLeaseRoutes(router, **store, lease_manager, admin_auth);
  auto itsm = wireItsm(cfg, refresher, **store, registry, clock, router);
  if (!itsm.ok()) {
    logLine("jitbroker: " + itsm.status().message());
    return 1;
  }
  ready.add("store", [&store] { return (*store)->getTicket("readyz-probe").ok(); });

  // Callers: the configured trust entries, plus the local dev issuer in dev mode only.
  std::vector<jose::TrustStore::Entry> trust_entries;
  for (const auto& t : cfg.trust) {
    std::shared_ptr<jose::KeySource> source;
    if (!t.jwks_file.empty()) {
      auto text = core::readFile(t.jwks_file);
      auto set = text.ok() ? jose::KeySet::parse(*text) : core::StatusOr<jose::KeySet>(text.status());
      if (!set.ok()) {
        logLine("jitbroker: trust entry " + t.issuer + ": " + t.jwks_file + ": " +
                set.status().message());
        return 1;
      }
      source = std::make_shared<jose::StaticKeySource>(std::move(*set));
    } else {
      source = std::make_shared<jose::FetchingKeySource>(
          t.jwks_url, [ca_file = t.ca_file, issuer = t.issuer](const std::string& url) -> core::StatusOr<std::string> {
            client::HttpOptions o;
            o.ca_file = ca_file;
            o.timeout = std::chrono::seconds(10);
            auto r = client::httpsRequest("GET", url, {}, "", o);
            core::Status st = !r.ok()             ? r.status()
                              : r->status != 200 ? core::unavailable("JWKS fetch answered HTTP " +
                                                                     std::to_string(r->status))
                                                 : core::okStatus();
            // The caller is told only "no keys yet"; the cause is for the operator. Fetches
            // are rate-limited (one a minute per issuer), and so is this line.
            if (!st.ok()) {
              core::logEvent("error", "jwks", "jwks.fetch_failed",
                       {{"issuer", issuer}, {"url", url}, {"error", st.message()}});
              return st;
            }
            return r->body;
          });
    }
    trust_entries.push_back({t.issuer, t.audience, std::move(source)});
  }
  if (cfg.trust.empty() && !cfg.dev)
    core::logEvent("warning", "trust", "trust.empty",
                   {{"message", "no trusted issuer in 'trust': no caller can present a token"}});
  std::unique_ptr<jose::TokenSigner> dev_issuer;
  if (cfg.dev) {
    auto d = jose::TokenSigner::loadOrCreate(cfg.data_dir + "/dev-oidc", clock.now());
    if (!d.ok()) {
      logLine("jitbroker: dev issuer: " + d.status().message());
      return 1;
    }
    dev_issuer = std::move(*d);
    trust_entries.push_back({kDevIssuer, "jitbroker",
                             std::make_shared<jose::StaticKeySource>(*dev_issuer->keySet())});
  }
  jose::TrustStore trust(std::move(trust_entries));
  auto signer = jose::TokenSigner::loadOrCreate(cfg.data_dir + "/jwt", clock.now());
  if (!signer.ok()) {
    logLine("jitbroker: " + signer.status().message());
    return 1;
  }
  TrustCallerVerifier callers(trust);
  SignerTokenService tokens(**signer, cfg.public_url, clock);

  const size_t trusted_issuers = cfg.trust.size() + (cfg.dev ? 1 : 0);
  auto policy_dir = resolvePoliciesDir(cfg.policies_dir, cfg.dev, cfg.data_dir);
  auto policy_set = policy_dir.ok() ? loadPolicies(*policy_dir, trusted_issuers)
                                    : core::StatusOr<std::shared_ptr<const policies::PolicySet>>(
                                          policy_dir.status());
  if (!policy_set.ok()) {
    logLine("jitbroker: " + policy_set.status().message());
    return 1;
  }
  policy_holder.set(*policy_set);
  PolicyReloader reloader(*policy_dir, trusted_issuers, policy_holder, **audit, registry, [&] {
    auto ended = lease_reviewer.reviewAll("policy_changed");
    return ended.ok() ? core::okStatus() : ended.status();
  });
  reload_hook = [&reloader] {
    core::Status st = reloader.reload();
    logLine(st.ok() ? "{\"event\":\"policy.reloaded\"}"
                    : "{\"event\":\"policy.reload_failed\",\"error\":" +
                          boost::json::serialize(boost::json::value(st.message())) + "}");
  };
  router.add("POST", "/v1/policies/reload", [&reloader, &admin_auth](http::Request& req) {
    if (auto denied = admin_auth.check(req)) return *denied;
    core::Status st = reloader.reload();
    if (!st.ok()) return http::errorResponse(st);
    return http::jsonResponse(200, {{"outcome", "reloaded"}});
  });

  pki::PkiService pki_service(**authority, **store, clock, registry,
                              std::chrono::duration_cast<std::chrono::seconds>(cfg.ca.crl_next_update),
                              cfg.public_url);
  pki_service.addRoutes(router);
  lease_manager.addListener([&pki_service](const std::vector<store::EndedLease>& ended,
                                           store::LeaseState state) {
    if (state != store::LeaseState::kRevoked) return;
    for (const auto& l : ended)
      if (l.kind == store::LeaseKind::kCertificate) return pki_service.certificatesRevoked();
  });
  // Stopped right after the server: lookups still running finish before the store closes.
  issuing::LookupGate lookup_gate(
      static_cast<size_t>(cfg.lookup_threads),
      {static_cast<size_t>(cfg.limits.lookups_per_caller), cfg.limits.lookup_rate_per_caller,
       std::max(10.0, 5 * cfg.limits.lookup_rate_per_caller)},
      clock);
  issuing::IssuanceService issuance({callers, tokens, &pki_service, policy_holder, refresher,
                                     lease_manager, **store, **audit, clock, registry});
  issuing::TokenMinter token_minter(tokens, cfg.public_url);
  issuing::CertificateMinter certificate_minter(pki_service);
  issuance.addMinter(token_minter);
  issuance.addMinter(certificate_minter);
  api::IssuingApi issuing_api(
      {issuance, registry, &lookup_gate, [&trust](std::string_view jwt) { return trust.mayFetch(jwt); },
       [&refresher](const std::string& ticket) { return refresher.mayBlock(ticket); }});
  issuing_api.addRoutes(router, admin_auth);
  // Token-signing key rotation: the previous key stays in the JWKS until its tokens expire.
  router.add("POST", "/v1/keys/rotate", [&signer, &admin_auth, &clock, &audit](http::Request& req) {
    if (auto denied = admin_auth.check(req)) return *denied;
    std::string old_kid = (*signer)->kid();
    if (core::Status st = (*signer)->rotate(clock.now()); !st.ok()) return http::errorResponse(st);
    (void)(*audit)->append("keys.rotated", {{"previous_kid", old_kid}, {"kid", (*signer)->kid()}});
    return http::jsonResponse(200, {{"kid", (*signer)->kid()}, {"previous_kid", old_kid}});
  });
  router.add("GET", "/.well-known/jwks.json", [&signer](http::Request&) {
    return http::jsonResponse(200, (*signer)->jwks());
  });
  router.add("GET", "/.well-known/openid-configuration", [&cfg](http::Request&) {
    const std::string& u = cfg.public_url;
    return http::jsonResponse(
        200, {{"issuer", u},
              {"jwks_uri", u + "/.well-known/jwks.json"},
              {"token_endpoint", u + "/v1/token"},
              {"introspection_endpoint", u + "/v1/introspect"},
              {"revocation_endpoint", u + "/v1/revoke"},
              {"grant_types_supported", {"urn:ietf:params:oauth:grant-type:token-exchange"}},
              {"id_token_signing_alg_values_supported", {"ES256"}}});
  });
  ready.add("keys", [&signer] { return (*signer)->keySet() != nullptr; });
  ready.add("policies", [&policy_holder] { return policy_holder.get() != nullptr; });
  ready.add("leases", [&lease_manager] { return lease_manager.ready(); });

  // Downstream revocation hooks: jobs are written with each revocation, before any is made.
  std::unique_ptr<leases::HookDispatcher> hooks;
  if (cfg.hooks) {
    auto secret = core::readOrCreateSecret(cfg.hooks->secret_file);
    if (!secret.ok()) {
      logLine("jitbroker: hooks: " + secret.status().message());
      return 1;
    }
    (*store)->enableRevocationJobs();
    client::HttpOptions http_opts;
    http_opts.ca_file = cfg.hooks->ca_file;
    http_opts.timeout = std::chrono::seconds(10);
    leases::HookConfig hc{cfg.hooks->revocation_url, *secret, static_cast<int>(cfg.hooks->max_attempts),
                          cfg.hooks->initial_backoff};
    hooks = std::make_unique<leases::HookDispatcher>(
        **store, **audit, clock, registry, hc,
        [http_opts](const std::string& url, const std::string& body,
                    const std::map<std::string, std::string>& headers) -> core::Status {
          auto r = client::httpsRequest("POST", url, headers, body, http_opts);
          if (!r.ok()) return r.status();
          if (r->status / 100 != 2) return core::unavailable("hook answered HTTP " + std::to_string(r->status));
          return core::okStatus();
        });
    lease_manager.addListener([&hooks](const std::vector<store::EndedLease>&, store::LeaseState s) {
      if (s == store::LeaseState::kRevoked) hooks->poke();
    });
  }

  addReferenceRoutes(router, admin_auth);  // last: GET /v1/routes lists every route above

  // Settle what ended while the broker was down before the first request is served;
  // connections wait in the listen backlog meanwhile.
  if (core::Status st = lease_manager.start(); !st.ok()) {
    logLine("jitbroker: cannot restore leases: " + st.message());
    return 1;
  }
  // The policy files may have changed while the broker was down: what they no longer allow
  // ends before the first request, as after a reload.
  if (auto ended = lease_reviewer.reviewAll("policy_changed"); !ended.ok()) {
    logLine("jitbroker: cannot judge the active leases again: " + ended.status().message());
    return 1;
  }
  if (hooks) hooks->start();
  (*itsm)->start();
  printBanner(cfg, tls, server.port());
  server.run();
  lookup_gate.stop();
  (*itsm)->stop();
  if (hooks) hooks->stop();
  lease_manager.stop();
  // Writes still queued (a drain that timed out) run, and their completions return, before
  // the objects those completions use are destroyed.
  (*store)->close();
  (*audit)->close();
  logLine("{\"event\":\"shutdown\",\"message\":\"drained, exiting\"}");
  return 0;
}

}  // namespace jitb::server
