// Fail closed when the store is out of reach: a replica that cannot see the store cannot see
// another replica's revocations either, so after `max_silence` without any answer from the
// store it refuses issuance and introspection (Unavailable), answers OCSP tryLater and is not
// ready, until the store answers again. Any successful store call counts as contact (the
// store's round-trip count), so a store that is busy, and slow to hand out a connection, is
// not taken for gone; when nothing else reached it for a while a cheap probe does.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/core/ticker.h"
#include "broker/metrics/registry.h"

namespace jitb::leases {

struct HealthOptions {
  std::chrono::milliseconds max_silence{1000};
  std::chrono::milliseconds probe_every{250};
};

class StoreHealth {
 public:
  // `round_trips`: how many calls the store answered so far (store::Store::roundTrips);
  // `probe`: one cheap call, made when that count did not move since the last tick.
  StoreHealth(const core::Clock& clock, std::function<uint64_t()> round_trips,
              std::function<core::Status()> probe, metrics::Registry& metrics,
              HealthOptions options = {});
  ~StoreHealth();

  // A thread that ticks every probe_every (real time).
  void start();
  void stop();
  // One step: notes contact when the store answered since the last tick, else probes.
  // The thread calls it; tests call it with their clock. Calls must not overlap.
  void tick();

  // True while the store answered within max_silence (as of the clock now), whether or not
  // a probe is still waiting for its answer.
  bool reachable() const;
  // OK, or Unavailable ("temporarily_unavailable" on the wire) when not reachable().
  core::Status check() const;

 private:
  void noteContact(int64_t now_ms);
  int64_t nowMs() const;

  const core::Clock& clock_;
  const std::function<uint64_t()> round_trips_;
  const std::function<core::Status()> probe_;
  metrics::Registry& metrics_;
  const HealthOptions opts_;
  std::atomic<int64_t> last_contact_ms_;
  uint64_t last_count_ = 0;  // tick() only
  bool was_reachable_ = true;  // tick() only: for the log line of a change

  core::Ticker ticker_;  // last: stopped before the members tick() reads
};

}  // namespace jitb::leases
