// Reading the audit log back for the admin views: the chain's state and matching records.
// Reads the current file only (a rotated file is checked with `jitctl audit verify`).
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/status.h"

namespace jitb::audit {

// The file's complete lines: a record being appended right now (no newline yet) is left for
// the next read rather than taken as a torn line.
core::StatusOr<std::string> readCompleteLines(const std::string& path);

struct ChainState {
  VerifyResult verify;
  // Of the lines read (0: none); a first_seq over 1 means the file continues a rotated one.
  int64_t first_seq = 0, last_seq = 0;
  std::string first_prev;  // the hash the file's first line links to
};
// Verifies the file's chain from its first line (which may continue a rotated file's).
core::StatusOr<ChainState> chainState(const std::string& path);

struct RecordQuery {
  std::string ticket;               // records whose "ticket" field is this
  std::string lease;                // records naming this lease ("lease" or in "leases")
  std::vector<std::string> events;  // event names, or prefixes ending in '.'; empty: any
  size_t limit = 200;               // the last `limit` matches
};
// The matching records, oldest first. The file is read backwards `chunk_bytes` at a time,
// and no further than needed for `limit` matches.
core::StatusOr<std::vector<boost::json::object>> findRecords(const std::string& path,
                                                             const RecordQuery& q,
                                                             size_t chunk_bytes = 1 << 20);

}  // namespace jitb::audit
