// Which replica does the work one replica should do (for now the CRL's regeneration): the
// store's leader row, claimed or renewed every poll with a conditional write
// (Store::claimLeadership) and held for `lease` from then. Only to avoid duplicate effort:
// what the work writes is safe when two replicas do it (conditional writes, SKIP LOCKED), so a
// replica that believes it leads a moment too long costs a duplicate, never a wrong result.
// A renewal that fails (the store unreachable) loses the lead at once. Thread-safe.
//
// Expiries are compared with each replica's own clock: replicas are expected to keep their
// clocks within a fraction of `lease` (NTP); a skewed one at worst takes over early.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "broker/core/clock.h"
#include "broker/core/ticker.h"
#include "broker/store/store.h"

namespace jitb::store {

class Leader {
 public:
  static constexpr std::chrono::milliseconds kLease{3000};
  Leader(Store& store, std::string replica, const core::Clock& clock,
         std::chrono::milliseconds lease = kLease);
  ~Leader();
  Leader(const Leader&) = delete;
  Leader& operator=(const Leader&) = delete;

  // One claim or renewal now; whether this replica leads after it. Tests call it directly.
  bool poll();
  // This replica's last claim succeeded and its expiry has not passed.
  bool leads() const;
  // Some replica (this one or another) held the row unexpired at the last poll: false when
  // the work has no one to do it (the leader died, or this replica cannot reach the store).
  bool someoneLeads() const;
  int64_t term() const;
  const std::string& replica() const { return replica_; }

  // Polls every `interval` (under the lease, so the holder renews in time) on a thread of its
  // own until stop() or destruction.
  void start(std::chrono::milliseconds interval = std::chrono::milliseconds(1000));
  void stop();

 private:
  Store& store_;
  const std::string replica_;
  const core::Clock& clock_;
  const std::chrono::milliseconds lease_;
  mutable std::mutex mu_;
  Leadership last_;  // leads is false until a claim succeeds
  core::Ticker ticker_;  // last: stopped before the members poll() uses
};

}  // namespace jitb::store
