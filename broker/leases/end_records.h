// The audit records of leases that ended, as the lease manager writes them: through its audit
// sink after the end, or, with a store that auditsInTransaction(), made inside the ending
// transaction (store::EndAudit) and committed with the end. One maker for both, so the log
// reads the same whichever the store.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/store/store.h"

namespace jitb::leases {

// Bulk ends are recorded in chunks so that one line stays a sane size while every lease id is
// still recorded.
constexpr size_t kAuditChunk = 1000;

// lease.expired (kExpired) or lease.revoked, one a chunk of kAuditChunk leases in their order:
// reason, count, the lease ids, and their ticket when the chunk's leases share one. None for
// no leases.
std::vector<audit::Record> endRecords(const std::vector<store::EndedLease>& leases,
                                      store::LeaseState state, const std::string& reason);

// Records made from what one end ended, beside endRecords' (e.g. a summary of the whole call).
using MoreRecords = std::function<std::vector<audit::Record>(const std::vector<store::EndedLease>&)>;

// endRecords, then `more`'s, as the bodies the store commits, timed by `clock` when called.
// `clock` must outlive the function.
store::EndAudit endAudit(const core::Clock& clock, store::LeaseState state, std::string reason,
                         MoreRecords more = {});

}  // namespace jitb::leases
