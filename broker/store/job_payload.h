// The revocation hook's payload for an ended lease, the same bytes whichever backend stores the
// job, since receivers may compare or sign them.
#pragma once

#include <cstdint>
#include <string>

#include "broker/store/store.h"

namespace jitb::store {

std::string revocationPayload(const EndedLease& l, const std::string& reason, int64_t now);
// The "database" job of an ended database lease: what ended it, for its revocation steps.
std::string databaseJobPayload(const EndedLease& l, const std::string& reason, int64_t now);

}  // namespace jitb::store
