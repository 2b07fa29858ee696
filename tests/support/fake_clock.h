// A manual clock for tests, kept out of the production headers: tests advance it instead of
// sleeping.
#pragma once

#include <atomic>

#include "broker/core/clock.h"

namespace jitb::core {

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
