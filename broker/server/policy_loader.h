// Where the policies come from, and their atomic reload (SIGHUP, POST /v1/policies/reload):
// a broken file keeps the old set in force and says why.
#pragma once

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

// Loads a folder into a set, with "FILE:LINE: message" errors.
core::StatusOr<std::shared_ptr<const policies::PolicySet>> loadPolicies(const std::string& dir);

class PolicyReloader {
 public:
  PolicyReloader(std::string dir, issuing::PolicyHolder& holder, audit::AuditSink& audit,
                 metrics::Registry& metrics);
  // Swaps in the folder's current set, or keeps the old one and returns the error.
  core::Status reload();

 private:
  std::string dir_;
  issuing::PolicyHolder& holder_;
  audit::AuditSink& audit_;
  metrics::Registry& metrics_;
  std::mutex mu_;  // one reload at a time
};

}  // namespace jitb::server
