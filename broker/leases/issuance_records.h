// The audit records of an issuance, and their restoration from the store after a power loss.
#pragma once

#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/status.h"
#include "broker/store/store.h"

namespace jitb::leases {

// lease.issued, and review.required for a break-glass lease, made from the lease alone.
std::vector<audit::Record> issuanceRecords(const store::LeaseRow& lease);

// The log acknowledges issuance records once written and syncs them right after
// (AuditSink::Durability::kWritten), so a power loss can take the last of them; their leases
// are durable in the store. At startup this appends issuanceRecords, marked "recovered", for
// every lease issued from AuditLog::kRecentWindow before the log's last record on that the log
// does not hold, with the lease's state and end reason as the store has them now. The decision
// record beside them is not restorable: its basis is not stored. Leases ended as audit_failed
// were never handed out and are skipped. Returns how many leases it restored.
core::StatusOr<size_t> restoreIssuanceRecords(store::Store& store, audit::AuditLog& log);

}  // namespace jitb::leases
