#include "broker/server/build_leases.h"

#include <chrono>
#include <map>
#include <string>

#include "broker/core/files.h"
#include "broker/leases/issuance_records.h"
#include "broker/server/build_support.h"
#include "clients/lib/https_client.h"

namespace jitb::server {

core::StatusOr<std::unique_ptr<leases::LeaseManager>> buildLeases(const Config& cfg,
                                                                  store::Store& store,
                                                                  audit::AuditSink& audit,
                                                                  audit::AuditLog& file_log,
                                                                  const core::Clock& clock,
                                                                  metrics::Registry& registry) {
  // Only the file log acknowledges records before they are synced; a store that keeps the
  // audit log commits them with their lease.
  auto restored = store.auditsInTransaction() ? core::StatusOr<size_t>(size_t{0})
                                              : leases::restoreIssuanceRecords(store, file_log);
  if (!restored.ok())
    return prefixed("restoring the audit log's last issuances: ", restored.status());
  if (*restored > 0)
    logLine("jitbroker: the audit log had lost the records of " + std::to_string(*restored) +
            " issuance(s); restored from the store, marked recovered");
  return std::make_unique<leases::LeaseManager>(
      store, audit, clock,
      leases::Quotas{cfg.limits.max_active_leases_per_subject,
                     cfg.limits.max_active_leases_per_ticket},
      registry);
}

core::StatusOr<std::unique_ptr<leases::HookDispatcher>> buildHooks(
    const Config& cfg, store::Store& store, audit::AuditSink& audit, const core::Clock& clock,
    metrics::Registry& registry, leases::LeaseManager& leases) {
  if (!cfg.hooks) return std::unique_ptr<leases::HookDispatcher>();
  auto secret = core::readOrCreateSecret(cfg.hooks->secret_file);
  if (!secret.ok()) return prefixed("hooks: ", secret.status());
  // Jobs are written with each revocation, before any is made.
  store.enableRevocationJobs();
  client::HttpOptions http_opts;
  http_opts.ca_file = cfg.hooks->ca_file;
  http_opts.timeout = std::chrono::seconds(10);
  leases::HookConfig hc{cfg.hooks->revocation_url, *secret,
                        static_cast<int>(cfg.hooks->max_attempts), cfg.hooks->initial_backoff};
  auto hooks = std::make_unique<leases::HookDispatcher>(
      store, audit, clock, registry, hc,
      [http_opts](const std::string& url, const std::string& body,
                  const std::map<std::string, std::string>& headers) -> core::Status {
        auto r = client::httpsRequest("POST", url, headers, body, http_opts);
        if (!r.ok()) return r.status();
        if (r->status / 100 != 2)
          return core::unavailable("hook answered HTTP " + std::to_string(r->status));
        return core::okStatus();
      });
  leases.addListener([h = hooks.get()](const std::vector<store::EndedLease>&, store::LeaseState s) {
    if (s == store::LeaseState::kRevoked) h->poke();
  });
  return hooks;
}

}  // namespace jitb::server
