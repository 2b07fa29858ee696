#include "broker/server/build_policies.h"

namespace jitb::server {

core::StatusOr<std::unique_ptr<PolicyReloader>> buildPolicies(
    const Config& cfg, issuing::PolicyHolder& holder, audit::AuditSink& audit,
    metrics::Registry& registry, std::function<core::Status()> reloaded) {
  // With more than one trusted issuer every grant must name its issuer(s).
  const size_t trusted_issuers = cfg.trust.size() + (cfg.dev ? 1 : 0);
  auto dir = resolvePoliciesDir(cfg.policies_dir, cfg.dev, cfg.data_dir);
  if (!dir.ok()) return dir.status();
  auto set = loadPolicies(*dir, trusted_issuers);
  if (!set.ok()) return set.status();
  holder.set(*set);
  return std::make_unique<PolicyReloader>(*dir, trusted_issuers, holder, audit, registry,
                                          std::move(reloaded));
}

}  // namespace jitb::server
