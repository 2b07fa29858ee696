// Injected time. Production code asks a Clock, never std::chrono::system_clock directly, so
// tests (and the reliability suite's clock jumps) control time without sleeping.
#pragma once

#include <atomic>
#include <chrono>

namespace jitb::core {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// Thread-safe manual clock for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : t_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(TimePoint::duration(t_.load())); }
  void advance(std::chrono::nanoseconds d) {
    t_ += std::chrono::duration_cast<TimePoint::duration>(d).count();
  }
  void set(TimePoint t) { t_ = t.time_since_epoch().count(); }

 private:
  std::atomic<TimePoint::rep> t_;
};

}  // namespace jitb::core
