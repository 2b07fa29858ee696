// gmock stand-in for core::Clock, for unit tests that script what time it is call by call (or
// check when a component reads it). Tests that let time pass use FakeClock
// (tests/support/fake_clock.h) instead.
#pragma once

#include <gmock/gmock.h>

#include "broker/core/clock.h"

namespace jitb::testing {

class MockClock : public core::Clock {
 public:
  MOCK_METHOD(core::TimePoint, now, (), (const, override));
  MOCK_METHOD(bool, waitUntil,
              (std::unique_lock<std::mutex>&, std::condition_variable&, core::TimePoint),
              (const, override));
};

}  // namespace jitb::testing
