// Injected time. Production code asks a Clock, never std::chrono::system_clock directly, so
// tests (and the reliability suite's clock jumps) control time without sleeping.
#pragma once

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

}  // namespace jitb::core
