// `jitctl audit verify|export --config FILE`: the audit log of the store the broker's config
// names. On PostgreSQL every replica's chain in the store; on SQLite the file data_dir/audit.log.
#pragma once

#include <cstdio>
#include <string>

#include "broker/audit/chains.h"
#include "broker/core/status.h"

namespace jitb::jitctl {

struct StoreAudit {
  std::string postgres_url;  // empty: the file log
  std::string file;          // data_dir/audit.log
};
core::StatusOr<StoreAudit> storeAuditOf(const std::string& config_file);

// Checks every chain in the store (ChainsVerifier's rules).
core::StatusOr<audit::ChainsResult> verifyStoreChains(const std::string& postgres_url);
// Writes every record, chain by chain in seq order, one line each, to `out`; how many.
core::StatusOr<int64_t> exportStoreChains(const std::string& postgres_url, std::FILE* out);

}  // namespace jitb::jitctl
