#include "broker/leases/hook_dispatcher.h"

#include <openssl/rand.h>

#include <boost/json.hpp>

#include "broker/tickets/webhook.h"

namespace jitb::leases {

namespace {
int64_t ms(core::TimePoint t) { return core::unixMillis(t); }
}  // namespace

HookDispatcher::HookDispatcher(store::Store& store, audit::AuditSink& audit,
                               const core::Clock& clock, metrics::Registry& metrics, HookConfig cfg,
                               HookSender send)
    : store_(store),
      audit_(audit),
      clock_(clock),
      metrics_(metrics),
      cfg_(std::move(cfg)),
      send_(std::move(send)),
      worker_(clock, [this] { runOnce(ms(clock_.now())); }) {
  metrics_.declareCounter("jitbroker_revocation_hook_attempts_total",
                          "Downstream revocation deliveries, by result.");
  metrics_.declareGauge("jitbroker_revocation_jobs_pending", "Downstream revocations not yet delivered.");
  metrics_.declareGauge("jitbroker_revocation_jobs_attention",
                        "Downstream revocations that exhausted their attempts (still retried).");
  metrics_.addCollector([this](metrics::Registry& r) {
    auto counts = store_.jobCounts();
    if (!counts.ok()) return;
    r.set("jitbroker_revocation_jobs_pending", {}, static_cast<double>(counts->first));
    r.set("jitbroker_revocation_jobs_attention", {}, static_cast<double>(counts->second));
  });
}

HookDispatcher::~HookDispatcher() { stop(); }

void HookDispatcher::start() { worker_.start(std::chrono::milliseconds(200)); }

void HookDispatcher::stop() { worker_.stop(); }

void HookDispatcher::poke() { worker_.poke(); }

int64_t HookDispatcher::backoffMs(int attempts) {
  int64_t base = cfg_.initial_backoff.count();
  for (int i = 1; i < attempts && base < cfg_.max_backoff.count(); ++i) base *= 2;
  base = std::min<int64_t>(base, cfg_.max_backoff.count());
  uint32_t r = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
  // Jitter in [0.5, 1.5) of the base, so that many failed jobs do not retry in step.
  return base / 2 + static_cast<int64_t>(r % static_cast<uint32_t>(std::max<int64_t>(base, 1)));
}

size_t HookDispatcher::runOnce(int64_t now) {
  auto due = store_.dueJobs(now, 100);
  if (!due.ok()) return 0;
  size_t delivered = 0;
  for (const auto& job : *due) {
    std::map<std::string, std::string> headers{
        {"Content-Type", "application/json"},
        {"X-Jitbroker-Signature", tickets::signBody(job.payload, cfg_.secret, now / 1000)}};
    core::Status st = send_(cfg_.url, job.payload, headers);
    int attempts = job.attempts + 1;
    if (st.ok()) {
      metrics_.add("jitbroker_revocation_hook_attempts_total", {{"result", "ok"}});
      if (store_.finishJob(job.id).ok()) ++delivered;
      continue;
    }
    metrics_.add("jitbroker_revocation_hook_attempts_total", {{"result", "error"}});
    bool attention = attempts >= cfg_.max_attempts;
    int64_t next = now + (attention ? cfg_.attention_retry.count() : backoffMs(attempts));
    (void)store_.retryJob(job.id, attempts, next,
                          attention ? store::JobState::kAttention : store::JobState::kPending,
                          st.message());
    if (attention && job.state != store::JobState::kAttention)
      (void)audit_.append("revocation.failed", {{"lease", job.lease_id},
                                                {"attempts", attempts},
                                                {"error", st.message()}});
  }
  return delivered;
}

}  // namespace jitb::leases
