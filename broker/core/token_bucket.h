// A token bucket: at most `burst` tokens, refilled at `per_second`. The state is two numbers
// and the limits are passed in, so a map of one bucket per caller stays small and a change of
// limits applies to every bucket at once. Not thread-safe: the owner locks around it.
#pragma once

#include <algorithm>
#include <chrono>

namespace jitb::core {

struct RateLimit {
  double per_second = 0;
  double burst = 0;
};

// TimePoint: any std::chrono time point (the injected core::Clock's, or steady_clock's).
template <class TimePoint>
class TokenBucket {
 public:
  // Full at `now`.
  TokenBucket(const RateLimit& limit, TimePoint now) : tokens_(limit.burst), at_(now) {}

  // The tokens at `now`; time that runs backwards refills nothing.
  double level(const RateLimit& limit, TimePoint now) const {
    double secs = std::chrono::duration<double>(now - at_).count();
    return std::min(limit.burst, tokens_ + std::max(0.0, secs) * limit.per_second);
  }

  // Refills up to `now`, then takes one token: false (and nothing taken) when under one.
  bool take(const RateLimit& limit, TimePoint now) {
    tokens_ = level(limit, now);
    at_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double tokens_;
  TimePoint at_;
};

}  // namespace jitb::core
