// The PostgreSQL store's half of lease quotas: the counts a lease insert takes. The counts fall
// by trigger (migrations/*_lease_counts.sql) in whatever statement ends leases. Internal to
// store/postgres.
#pragma once

#include "broker/store/postgres/pg_conn.h"
#include "broker/store/store.h"

namespace jitb::store::pg {

// Counts the active lease `l` against its subject's quota, then its ticket's, in the caller's
// transaction; the quota's refusal when one is reached. The caller rolls the transaction back
// on any failure, so a refusal of the second count undoes the first.
core::Status countActiveLease(Conn& c, const LeaseRow& l, const LeaseQuotas& quotas);

}  // namespace jitb::store::pg
