#include "broker/leases/revocation_fanout.h"

#include <algorithm>

#include "broker/core/log.h"

namespace jitb::leases {

RevocationFanout::RevocationFanout(store::Store& store, const core::Clock& clock,
                                   metrics::Registry& metrics, Apply apply, FanoutOptions options)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      apply_(std::move(apply)),
      opts_(options),
      // A failure is counted; the next poll reads from the same floor, so nothing is lost.
      ticker_([this] { (void)pollOnce(); }) {
  metrics_.declareHistogram(
      "jitbroker_revocation_fanout_lag_seconds",
      "From a lease's end (on any replica) to its revocation event being applied here.",
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10});
  metrics_.declareCounter("jitbroker_revocation_events_applied_total",
                          "Revocation events of any replica applied to this one's caches.");
  metrics_.declareCounter("jitbroker_revocation_fanout_poll_failures_total",
                          "Polls of the revocation events that failed (store unreachable).");
}

RevocationFanout::~RevocationFanout() { stop(); }

core::Status RevocationFanout::init() {
  const int64_t now = core::unixMillis(clock_.now());
  auto start = store_.revocationSeqBefore(now - opts_.reread.count());
  if (!start.ok()) return start.status();
  floor_ = *start;
  next_prune_ms_ = now;
  return core::okStatus();
}

core::StatusOr<size_t> RevocationFanout::pollOnce() {
  const int64_t now = core::unixMillis(clock_.now());
  int64_t highest = floor_;
  if (!seen_.empty()) highest = std::max(highest, seen_.back().second);
  std::vector<store::EndedLease> expired, revoked;
  std::vector<int64_t> ended_at;
  // Seqs first seen in this poll: all the leases of one seq (one statement) are applied.
  std::set<int64_t> fresh;
  int64_t after = floor_;
  for (;;) {
    auto page = store_.revocationEventsAfter(after, opts_.page);
    if (!page.ok()) {
      metrics_.add("jitbroker_revocation_fanout_poll_failures_total", {});
      return page.status();
    }
    std::set<int64_t> seqs;
    for (auto& e : *page) {
      highest = std::max(highest, e.seq);
      seqs.insert(e.seq);
      if (applied_.count(e.seq) && !fresh.count(e.seq)) continue;
      fresh.insert(e.seq);
      ended_at.push_back(e.ended_at);
      (e.state == store::LeaseState::kExpired ? expired : revoked).push_back(std::move(e.lease));
      applied_.insert(e.seq);
    }
    // `page` events make a full read, however many leases they named.
    if (seqs.size() < static_cast<size_t>(opts_.page)) break;
    after = page->back().seq;
  }
  if (!revoked.empty()) apply_(revoked, store::LeaseState::kRevoked);
  if (!expired.empty()) apply_(expired, store::LeaseState::kExpired);
  const int64_t applied_at = core::unixMillis(clock_.now());
  for (int64_t t : ended_at)
    metrics_.observe("jitbroker_revocation_fanout_lag_seconds", {},
                     static_cast<double>(std::max<int64_t>(0, applied_at - t)) / 1000.0);
  if (!ended_at.empty())
    metrics_.add("jitbroker_revocation_events_applied_total", {},
                 static_cast<double>(ended_at.size()));

  // The floor moves to what had been read `reread` ago; seqs at or below it are not read
  // again, so their entries in applied_ can go.
  seen_.emplace_back(now, highest);
  while (!seen_.empty() && seen_.front().first <= now - opts_.reread.count()) {
    floor_ = std::max(floor_, seen_.front().second);
    seen_.pop_front();
  }
  applied_.erase(applied_.begin(), applied_.upper_bound(floor_));

  if (now >= next_prune_ms_) {
    next_prune_ms_ = now + opts_.prune_every.count();
    if (auto pruned = store_.pruneRevocationEvents(now - opts_.keep.count()); !pruned.ok())
      core::logEvent("warning", "leases", "revocation_events.prune_failed",
                     {{"message", pruned.status().message()}});
  }
  return ended_at.size();
}

core::Status RevocationFanout::start() {
  if (core::Status st = init(); !st.ok()) return st;
  ticker_.start(opts_.poll_interval);
  return core::okStatus();
}

void RevocationFanout::poke() { ticker_.poke(); }

void RevocationFanout::stop() { ticker_.stop(); }

}  // namespace jitb::leases
