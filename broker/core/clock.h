// Injected time. Production code asks a Clock, never std::chrono::system_clock directly, so
// tests (and the reliability suite's clock jumps) control time without sleeping. Timers wait
// through the clock too (waitUntil), so a test's clock wakes them when it is moved.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <mutex>

namespace jitb::core {

using TimePoint = std::chrono::system_clock::time_point;

// Unix times as the store (milliseconds) and JWTs (seconds) keep them.
inline int64_t unixMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline int64_t unixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Blocks on `cv` (`lk` held on entry and on return) until it is notified, or until this
  // clock reads `deadline` or later; true when it does. Like condition_variable::wait_until it
  // may return early, and `lk` may be released in between: callers re-check their state.
  virtual bool waitUntil(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                         TimePoint deadline) const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  // Waits for the time left as read now, on the monotonic clock: a wall-clock jump while
  // waiting is not seen until the wait ends, so callers that must notice one soon (the lease
  // timer) cap their deadlines.
  bool waitUntil(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                 TimePoint deadline) const override {
    const auto left = deadline - now();
    // Bounded so that a far deadline (TimePoint::max()) cannot overflow the monotonic one.
    if (left > TimePoint::duration::zero())
      cv.wait_for(lk, std::min<TimePoint::duration>(left, std::chrono::hours(24)));
    return now() >= deadline;
  }
};

// Waits until `done()` holds (true) or the clock reaches `deadline` with it still false.
template <class Pred>
bool waitUntil(const Clock& clock, std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
               TimePoint deadline, Pred done) {
  while (!done()) {
    if (clock.waitUntil(lk, cv, deadline)) return done();
  }
  return true;
}

}  // namespace jitb::core
