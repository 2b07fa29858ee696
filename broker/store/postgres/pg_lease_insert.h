// A group of lease inserts in one statement (migrations/*_insert_leases.sql): the async insert
// workers' group commit. Internal to store/postgres.
#pragma once

#include <optional>
#include <vector>

#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_conn.h"
#include "broker/store/store.h"

namespace jitb::store::pg {

// One lease's outcome: ok, or the quota that refused it; and its ticket as read FOR SHARE.
struct InsertOutcome {
  core::Status status;
  std::optional<TicketState> seen;
};

// Inserts `leases` in one statement, each with its own ticket read and quota counts; a quota
// refusal leaves the others in place. Any other failure (a duplicate id, a lost connection)
// fails the whole statement and so writes none of them. Run alone, the statement is its own
// transaction.
core::StatusOr<std::vector<InsertOutcome>> insertLeases(Conn& c,
                                                        const std::vector<const LeaseRow*>& leases,
                                                        const LeaseQuotas& quotas);

// The same statement with the leases' audit records (migrations/0015_insert_leases_audited.sql):
// `links` chained after `after`, the head this replica believes its chain has. Fails with
// SQLSTATE kChainMovedState, writing nothing, when the chain has moved or a lease was refused.
inline constexpr const char* kChainMovedState = "JB001";
core::StatusOr<std::vector<InsertOutcome>> insertLeasesAudited(
    Conn& c, const std::vector<const LeaseRow*>& leases, const LeaseQuotas& quotas,
    const std::string& replica, const ChainHead& after, const ChainLinks& links, int64_t time);

}  // namespace jitb::store::pg
