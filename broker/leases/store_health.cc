#include "broker/leases/store_health.h"

#include "broker/core/log.h"

namespace jitb::leases {

StoreHealth::StoreHealth(const core::Clock& clock, std::function<uint64_t()> round_trips,
                         std::function<core::Status()> probe, metrics::Registry& metrics,
                         HealthOptions options)
    : clock_(clock),
      round_trips_(std::move(round_trips)),
      probe_(std::move(probe)),
      metrics_(metrics),
      opts_(options),
      last_contact_ms_(core::unixMillis(clock.now())),  // the store was just opened
      last_count_(round_trips_()),
      ticker_([this] { tick(); }) {
  metrics_.declareGauge("jitbroker_store_reachable",
                        "1 while the store answered within the last second, else 0 (the broker "
                        "then fails closed).");
  metrics_.set("jitbroker_store_reachable", {}, 1);
}

StoreHealth::~StoreHealth() { stop(); }

int64_t StoreHealth::nowMs() const { return core::unixMillis(clock_.now()); }

void StoreHealth::noteContact(int64_t now_ms) {
  // Only forward: a probe answered late must not move the mark back.
  int64_t prev = last_contact_ms_.load();
  while (prev < now_ms && !last_contact_ms_.compare_exchange_weak(prev, now_ms)) {
  }
}

bool StoreHealth::reachable() const {
  return nowMs() - last_contact_ms_.load() <= opts_.max_silence.count();
}

core::Status StoreHealth::check() const {
  if (reachable()) return core::okStatus();
  return core::Status{core::Code::kUnavailable, "the store is unreachable; try again",
                      "no answer from the store for more than " +
                          std::to_string(opts_.max_silence.count()) + " ms"};
}

void StoreHealth::tick() {
  const uint64_t count = round_trips_();
  if (count != last_count_) {
    last_count_ = count;
    noteContact(nowMs());
  } else {
    const int64_t asked = nowMs();
    // Contact as of when the probe was sent: its answer proves the store was there then.
    if (probe_().ok()) noteContact(asked);
    last_count_ = round_trips_();  // the probe's own trip is not news next tick
  }
  const bool now_reachable = reachable();
  if (now_reachable != was_reachable_) {
    was_reachable_ = now_reachable;
    metrics_.set("jitbroker_store_reachable", {}, now_reachable ? 1 : 0);
    core::logEvent(now_reachable ? "info" : "error", "store",
                   now_reachable ? "store.reachable" : "store.unreachable",
                   {{"message", now_reachable ? "the store answers again; serving"
                                              : "no answer from the store; failing closed"}});
  }
}

void StoreHealth::start() { ticker_.start(opts_.probe_every); }

void StoreHealth::stop() { ticker_.stop(); }

}  // namespace jitb::leases
