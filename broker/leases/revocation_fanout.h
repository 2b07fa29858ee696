// Revocation fan-out between replicas sharing one store: every transaction that ends leases
// appends one event per lease (store::Store::revocationEventsAfter); this poller applies the
// events of every replica to this process's listeners (CRL and KRL staleness, the ticket
// cache, hooks), as local ends are applied by LeaseManager. It polls every `poll_interval`,
// and at once when poke()d (the store's NOTIFY, a hint only). Sequence values are taken
// before their transactions commit, so a poll reads again from the highest seq it had seen
// `reread` ago: an event committed late behind a higher one is still found. Each event is
// applied once (a set of the seqs applied within that window), so listeners that are not
// idempotent are safe. The lag from a lease's end to its event's application here is the
// histogram jitbroker_revocation_fanout_lag_seconds. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <utility>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/core/ticker.h"
#include "broker/metrics/registry.h"
#include "broker/store/store.h"

namespace jitb::leases {

struct FanoutOptions {
  std::chrono::milliseconds poll_interval{500};
  // How far back every poll reads again: longer than any transaction that ends leases.
  std::chrono::milliseconds reread{5000};
  // Events older than this are deleted (by whichever replica prunes first).
  std::chrono::milliseconds keep{std::chrono::minutes(5)};
  std::chrono::milliseconds prune_every{std::chrono::minutes(1)};
  int page = 1000;  // events (statements) per read
};

class RevocationFanout {
 public:
  // Receives the ends of one state, once each; on the poller's thread.
  using Apply = std::function<void(const std::vector<store::EndedLease>&, store::LeaseState)>;

  RevocationFanout(store::Store& store, const core::Clock& clock, metrics::Registry& metrics,
                   Apply apply, FanoutOptions options = {});
  ~RevocationFanout();

  // Finds where to start (the events of the last `reread` are applied again: harmless, and
  // they may be ends this process has not seen) and starts the thread.
  core::Status start();
  void stop();
  // Poll now rather than at the next interval (a NOTIFY arrived).
  void poke();

  // Reads the events after the floor and applies those not applied yet; returns how many it
  // applied. The thread calls it; tests call it with their clock. Calls must not overlap.
  core::StatusOr<size_t> pollOnce();
  // What start() does before the thread: the first floor.
  core::Status init();

 private:
  store::Store& store_;
  const core::Clock& clock_;
  metrics::Registry& metrics_;
  const Apply apply_;
  const FanoutOptions opts_;

  // pollOnce() only.
  int64_t floor_ = 0;                               // every event <= floor_ was read long enough ago
  std::set<int64_t> applied_;                       // seqs > floor_ already applied
  std::deque<std::pair<int64_t, int64_t>> seen_;    // (poll time ms, highest seq read by then)
  int64_t next_prune_ms_ = 0;

  core::Ticker ticker_;  // last: stopped before the members pollOnce() uses
};

}  // namespace jitb::leases
