// The composition root's policy step: the policy set in force, loaded from the configured
// folder (the embedded default in dev mode), and the reloader that swaps it (SIGHUP and
// POST /v1/policies/reload).
#pragma once

#include <functional>
#include <memory>

#include "broker/audit/audit_log.h"
#include "broker/core/status.h"
#include "broker/issuing/ports.h"
#include "broker/metrics/registry.h"
#include "broker/server/config.h"
#include "broker/server/policy_loader.h"

namespace jitb::server {

// Sets `holder` to the loaded set. `reloaded` runs after each successful reload (the leases
// are judged again under the new set). Fails with "FILE:LINE: message" for a bad policy.
core::StatusOr<std::unique_ptr<PolicyReloader>> buildPolicies(
    const Config& cfg, issuing::PolicyHolder& holder, audit::AuditSink& audit,
    metrics::Registry& registry, std::function<core::Status()> reloaded);

}  // namespace jitb::server
