// Where issuance work that may wait on the network (a ticket read from its source, an
// issuer's keys fetched) runs: a few threads of its own, so that such work never holds the
// threads that serve ticket intake, revocation, the CRL and OCSP. Nothing queues: work that
// finds every thread busy, or a caller over its limits (lookups under way at once, and
// lookups per second from a small token bucket), is refused at once (the caller is told to
// retry) instead of waiting. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/keyed_slots.h"
#include "broker/core/token_bucket.h"

namespace jitb::issuing {

// What one caller (its verified issuer and subject) may have.
struct PerCallerLimits {
  size_t concurrent = 4;
  double per_second = 2;  // refill of the caller's bucket; 0: no rate limit
  double burst = 10;      // the bucket's size
};

class LookupGate : private core::SlotOwner {
 public:
  LookupGate(size_t threads, PerCallerLimits per_caller, const core::Clock& clock);
  ~LookupGate() { stop(); }
  LookupGate(const LookupGate&) = delete;
  LookupGate& operator=(const LookupGate&) = delete;

  // Runs `work` on an idle thread of the gate; false (and `work` dropped) when none is idle.
  bool trySubmit(std::function<void()> work);

  // One lookup under way for a caller; the slot is free again when it is destroyed.
  using Permit = core::Slot;
  enum class Refusal { kConcurrent, kRate };
  // nullopt when `caller` (its issuer and subject, as verified) is at one of its limits,
  // named in `why`.
  std::optional<Permit> admit(const std::string& caller, Refusal* why = nullptr);

  // Lets running work finish and joins the threads; work not yet started is dropped, and
  // trySubmit() refuses from now on. Idempotent.
  void stop();

  size_t threads() const { return workers_.size(); }
  size_t trackedCallers();  // callers with a rate bucket remembered

 private:
  void run();
  void release(const std::string& key) override;

  bool takeToken(const std::string& caller);  // under mu_

  const PerCallerLimits limits_;
  const core::Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> work_;
  size_t idle_ = 0;
  bool stop_ = false;
  const core::RateLimit rate_;
  core::KeyCounts under_way_;  // only callers with lookups under way
  using Bucket = core::TokenBucket<core::TimePoint>;
  std::unordered_map<std::string, Bucket> buckets_;  // trimmed of full ones as it grows
  std::vector<std::thread> workers_;
};

}  // namespace jitb::issuing
