// The composition root's lease step: the lease manager (after the audit log's lost issuance
// records are restored from the store), and the downstream revocation hooks when configured.
#pragma once

#include <memory>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/leases/hook_dispatcher.h"
#include "broker/leases/lease_manager.h"
#include "broker/metrics/registry.h"
#include "broker/server/config.h"
#include "broker/store/store.h"

namespace jitb::server {

// Not started: runBroker starts it once every listener is added.
core::StatusOr<std::unique_ptr<leases::LeaseManager>> buildLeases(const Config& cfg,
                                                                  store::Store& store,
                                                                  audit::AuditSink& audit,
                                                                  audit::AuditLog& file_log,
                                                                  const core::Clock& clock,
                                                                  metrics::Registry& registry);

// Null when no hook is configured. Otherwise the store writes a job with each revocation and
// `leases` wakes the dispatcher after one; not started.
core::StatusOr<std::unique_ptr<leases::HookDispatcher>> buildHooks(
    const Config& cfg, store::Store& store, audit::AuditSink& audit, const core::Clock& clock,
    metrics::Registry& registry, leases::LeaseManager& leases);

}  // namespace jitb::server
