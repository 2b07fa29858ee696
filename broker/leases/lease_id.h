// The lease-id format, in one place: "lease_" + 12 hex digits of the issuance millisecond +
// 10 random hex digits. Unique, and sorted by issue time, so that listing by id follows issue
// order and a time maps to an id bound (leaseIdFloor).
#pragma once

#include <string>

#include "broker/core/clock.h"
#include "broker/core/files.h"

namespace jitb::leases {

inline std::string newLeaseId(core::TimePoint now) { return "lease_" + core::timeOrderedHex(now, 5); }
// Sorts before every id issued at or after `t`.
inline std::string leaseIdFloor(core::TimePoint t) { return "lease_" + core::timeOrderedHex(t, 0); }

}  // namespace jitb::leases
