// Downstream revocation: every revoked lease's job (written with the revocation, see
// Store::enableRevocationJobs) is POSTed to the configured hook, signed like ticket events.
// Failures back off exponentially with jitter; after max_attempts the job is marked for
// attention (metric, audit record) and still retried every attention_retry: never forgotten.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/core/ticker.h"
#include "broker/metrics/registry.h"
#include "broker/store/store.h"

namespace jitb::leases {

struct HookConfig {
  std::string url;
  std::string secret;  // HMAC key for X-Jitbroker-Signature
  int max_attempts = 8;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{300'000};
  std::chrono::milliseconds attention_retry{600'000};
};

// Delivers one body; OK only for a 2xx answer.
using HookSender = std::function<core::Status(const std::string& url, const std::string& body,
                                              const std::map<std::string, std::string>& headers)>;

class HookDispatcher {
 public:
  HookDispatcher(store::Store& store, audit::AuditSink& audit, const core::Clock& clock,
                 metrics::Registry& metrics, HookConfig cfg, HookSender send);
  ~HookDispatcher();

  void start();
  void stop();
  // Wakes the worker (after a revocation) instead of waiting for its next poll.
  void poke();
  // Delivers what is due at `now`; returns how many deliveries succeeded. The worker calls it;
  // tests call it directly.
  size_t runOnce(int64_t now_ms);

 private:
  int64_t backoffMs(int attempts);

  store::Store& store_;
  audit::AuditSink& audit_;
  const core::Clock& clock_;
  metrics::Registry& metrics_;
  HookConfig cfg_;
  HookSender send_;
  core::Ticker worker_;  // last: stopped before the members runOnce() uses
};

}  // namespace jitb::leases
