#include "broker/server/policy_loader.h"

#include <boost/json.hpp>
#include <filesystem>

#include "broker/core/files.h"

namespace jitb::server {

extern const std::vector<std::pair<std::string_view, std::string_view>> kDefaultPolicies;

namespace fs = std::filesystem;

core::StatusOr<std::string> resolvePoliciesDir(const std::string& configured, bool dev,
                                               const std::string& data_dir) {
  std::error_code ec;
  if (fs::is_directory(configured, ec)) return configured;
  if (!dev) return core::invalidArgument("policies_dir " + configured + " is not a folder");
  std::string dir = (fs::path(data_dir) / "policies").string();
  if (core::Status st = core::ensureDir(dir); !st.ok()) return st;
  for (const auto& [name, text] : kDefaultPolicies) {
    std::string path = dir + "/" + std::string(name);
    if (fs::exists(path, ec)) continue;  // the operator's edits win over the built-in copy
    if (core::Status st = core::writeFileAtomic(path, std::string(text), 0600); !st.ok()) return st;
  }
  return dir;
}

core::StatusOr<std::shared_ptr<const policies::PolicySet>> loadPolicies(const std::string& dir,
                                                                        size_t trusted_issuers) {
  auto set = policies::PolicySet::loadDir(dir);
  if (!set.ok()) return core::invalidArgument(set.error().toString());
  if (trusted_issuers > 1)
    if (auto unbound = set.value().requireIssuers()) return core::invalidArgument(unbound->toString());
  return std::make_shared<const policies::PolicySet>(std::move(set.value()));
}

PolicyReloader::PolicyReloader(std::string dir, size_t trusted_issuers,
                               issuing::PolicyHolder& holder, audit::AuditSink& audit,
                               metrics::Registry& metrics, std::function<core::Status()> reloaded)
    : dir_(std::move(dir)),
      trusted_issuers_(trusted_issuers),
      holder_(holder),
      audit_(audit),
      metrics_(metrics),
      reloaded_(std::move(reloaded)) {
  metrics_.declareCounter("jitbroker_policy_reloads_total", "Policy reloads, by result.");
}

core::Status PolicyReloader::reload() {
  std::lock_guard lk(mu_);
  auto set = loadPolicies(dir_, trusted_issuers_);
  if (!set.ok()) {
    metrics_.add("jitbroker_policy_reloads_total", {{"result", "error"}});
    (void)audit_.append("policy.reload_failed",
                        {{"dir", dir_}, {"error", set.status().message()}});
    return set.status();
  }
  size_t grants = (*set)->size();
  holder_.set(std::move(*set));
  metrics_.add("jitbroker_policy_reloads_total", {{"result", "ok"}});
  (void)audit_.append("policy.reloaded", {{"dir", dir_}, {"grants", grants}});
  return reloaded_ ? reloaded_() : core::okStatus();
}

}  // namespace jitb::server
