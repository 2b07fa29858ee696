#include "broker/server/app.h"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "broker/api/leases_api.h"
#include "broker/api/tickets_api.h"
#include "broker/audit/audit_log.h"
#include "broker/core/files.h"
#include "broker/http/errors.h"
#include "broker/http/server.h"
#include "broker/leases/lease_manager.h"
#include "broker/server/tls_identity.h"
#include "broker/store/sqlite_store.h"
#include "broker/tickets/service.h"

namespace jitb::server {

namespace {

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

void logLine(const std::string& line) {
  // One write per line keeps concurrent lines whole.
  std::string l = line + "\n";
  std::fwrite(l.data(), 1, l.size(), stderr);
}

void printBanner(const Config& cfg, const TlsIdentity& tls, uint16_t port) {
  std::string url = cfg.public_url;
  if (cfg.dev) {
    std::printf(
        "\n  jitbroker dev (embedded default, data in %s)\n"
        "  URL:          %s\n"
        "  CA bundle:    %s\n"
        "  admin token:  %s/admin.token\n"
        "  webhook key:  %s\n"
        "  try:          curl --cacert %s %s/healthz\n\n",
        cfg.data_dir.c_str(), url.c_str(), tls.ca_bundle.c_str(), cfg.data_dir.c_str(),
        cfg.webhook_secret_file.c_str(), tls.ca_bundle.c_str(), url.c_str());
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

  TlsIdentity tls;
  if (cfg.tls) {
    tls = {cfg.tls->cert_file, cfg.tls->key_file, cfg.tls->cert_file};
  } else {
    std::vector<std::string> hosts = {cfg.listen_host};
    if (cfg.listen_host != "localhost") hosts.push_back("localhost");
    auto made = ensureServerTls(cfg.data_dir, hosts);
    if (!made.ok()) {
      logLine("jitbroker: " + made.status().message());
      return 1;
    }
    tls = *made;
  }

  metrics::Registry registry;
  registry.declareGauge("process_start_time_seconds", "Start time of the process, Unix seconds.");
  registry.set("process_start_time_seconds", {}, static_cast<double>(std::time(nullptr)));

  Readiness ready;

  http::Router router;
  router.add("GET", "/healthz", [](http::Request&) {
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
  opts.cert_chain_file = tls.cert_file;
  opts.key_file = tls.key_file;
  opts.max_body_bytes = static_cast<size_t>(cfg.limits.max_body_bytes);
  opts.max_connections = static_cast<size_t>(cfg.limits.max_connections);
  opts.read_timeout = cfg.limits.read_timeout;
  opts.access_log = [](const http::AccessRecord& r) { logLine(http::formatAccessLog(r)); };

  http::HttpsServer server(opts, router, registry);
  if (core::Status st = server.listen(); !st.ok()) {
    logLine("jitbroker: " + st.message());
    return 1;
  }
  if (cfg.listen_port == 0 && derive_url) {
    cfg.public_url.clear();  // derive it again from the port actually bound
    applyDefaults(cfg, server.port());
  }

  if (!cfg.postgres_url.empty()) {
    logLine("jitbroker: store.postgres is not supported yet; use store.sqlite");
    return 1;
  }
  core::SystemClock clock;
  auto store = store::SqliteStore::open(cfg.sqlite_path);
  if (!store.ok()) {
    logLine("jitbroker: " + store.status().message());
    return 1;
  }
  auto audit = audit::AuditLog::open(cfg.data_dir + "/audit.log", clock);
  if (!audit.ok()) {
    logLine("jitbroker: " + audit.status().message());
    return 1;
  }
  leases::LeaseManager lease_manager(
      **store, **audit, clock,
      {cfg.limits.max_active_leases_per_subject, cfg.limits.max_active_leases_per_ticket},
      registry);
  tickets::TicketService ticket_service(**store, lease_manager, **audit, clock);
  api::AdminAuth admin_auth(*admin);
  api::addTicketRoutes(router, {ticket_service, **store, admin_auth, *webhook, clock});
  api::addLeaseRoutes(router, **store, lease_manager, admin_auth);
  ready.add("store", [&store] { return (*store)->getTicket("readyz-probe").ok(); });
  ready.add("leases", [&lease_manager] { return lease_manager.ready(); });

  // Settle what ended while the broker was down before the first request is served;
  // connections wait in the listen backlog meanwhile.
  if (core::Status st = lease_manager.start(); !st.ok()) {
    logLine("jitbroker: cannot restore leases: " + st.message());
    return 1;
  }
  printBanner(cfg, tls, server.port());
  server.run();
  lease_manager.stop();
  logLine("{\"event\":\"shutdown\",\"message\":\"drained, exiting\"}");
  return 0;
}

}  // namespace jitb::server
