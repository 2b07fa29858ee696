// Versioned schema of the PostgreSQL store: numbered SQL files (migrations/NNNN_name.sql,
// embedded in the binary) and a schema_version table with one row per applied file.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "broker/store/postgres/pg_conn.h"

namespace jitb::store::pg {

struct SchemaVersion {
  int current = 0;                   // the highest applied migration; 0 for an empty database
  int latest = 0;                    // the highest this binary knows
  std::vector<std::string> pending;  // file names a migrate() would apply, in order
};

// The highest migration this binary carries.
int latestSchemaVersion();

// What the database holds and what migrate() would do; reads only (for `jitbroker check`).
core::StatusOr<SchemaVersion> readSchemaVersion(Conn& c);

// The same, connecting to `uri` for it: what `jitbroker check` reports before `serve` migrates.
core::StatusOr<SchemaVersion> readSchemaVersion(const std::string& uri, int connect_timeout_s = 5);

// Applies the missing migrations, all in one transaction that first takes a transaction-level
// advisory lock: replicas starting together queue on the lock, and the ones after the first
// find nothing left to do. A database newer than this binary is refused (an older binary must
// not write to a schema it does not know). Returns the state after migrating.
// `up_to` stops after that version (tests build a database as an older release left it).
core::StatusOr<SchemaVersion> migrate(Conn& c, int up_to = std::numeric_limits<int>::max());

}  // namespace jitb::store::pg
