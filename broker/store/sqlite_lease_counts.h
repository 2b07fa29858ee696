// The SQLite store's half of lease quotas: the count a lease insert takes. The counts fall by
// trigger (sqlite_migrations/*_lease_counts.sql) in whatever statement ends a lease.
// Internal to the store.
#pragma once

#include "broker/store/sqlite_conn.h"
#include "broker/store/store.h"

namespace jitb::store {

// Counts the active lease `l` against its subject's and its ticket's quota, in the caller's
// transaction; the quota's refusal (nothing counted) when one is reached. The caller rolls back
// the operation on any failure, so a refusal of the second count undoes the first.
core::Status countActiveLease(SqliteConn& c, const LeaseRow& l, const LeaseQuotas& quotas);

}  // namespace jitb::store
