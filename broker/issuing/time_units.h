// Unix times as the leases and the tokens store them.
#pragma once

#include <chrono>
#include <cstdint>

#include "broker/core/clock.h"

namespace jitb::issuing {

inline int64_t unixSeconds(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline int64_t unixMillis(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace jitb::issuing
