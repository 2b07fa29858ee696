// Where the policies come from, and their atomic reload (SIGHUP, POST /v1/policies/reload):
// a broken file keeps the old set in force and says why.
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "broker/audit/audit_log.h"
#include "broker/core/status.h"
#include "broker/issuing/ports.h"
#include "broker/metrics/registry.h"

namespace jitb::server {

// The folder to load: `configured` when it exists. In dev mode, when it does not, the copy of
// policies/default built into the binary is written to data_dir/policies and used.
core::StatusOr<std::string> resolvePoliciesDir(const std::string& configured, bool dev,
                                               const std::string& data_dir);

// Loads a folder into a set, with "FILE:LINE: message" errors. With more than one trusted
// issuer every grant must name its issuer(s).
core::StatusOr<std::shared_ptr<const policies::PolicySet>> loadPolicies(const std::string& dir,
                                                                        size_t trusted_issuers);

class PolicyReloader {
 public:
  // `reloaded` runs after each successful swap (the leases are judged again under the new set).
  PolicyReloader(std::string dir, size_t trusted_issuers, issuing::PolicyHolder& holder,
                 audit::AuditSink& audit, metrics::Registry& metrics,
                 std::function<core::Status()> reloaded = {});
  // Swaps in the folder's current set, or keeps the old one and returns the error; also the
  // error of judging the leases again under the new set.
  core::Status reload();

 private:
  std::string dir_;
  size_t trusted_issuers_;
  issuing::PolicyHolder& holder_;
  audit::AuditSink& audit_;
  metrics::Registry& metrics_;
  std::function<core::Status()> reloaded_;
  std::mutex mu_;  // one reload at a time
};

}  // namespace jitb::server
