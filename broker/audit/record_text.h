// The text of one audit record, shared by the file log (audit_log.cc) and the store's chains
// (store/postgres/pg_audit.cc), so that one verifier checks both.
//   body: {"time":"...","event":"...",<fields>}
//   line: {"seq":N,<head fields>,<body fields>,"prev":"<hex>","hash":"<hex>"}
// where hash is the SHA-256 of the line without its trailing ,"hash":"..." (see audit_log.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"

namespace jitb::audit {

// The record's body at `time`. The body's own time and event stand: fields of those names in
// `r` are not written.
std::string recordBody(const Record& r, core::TimePoint time);

// The chained line of `body` (no newline) as record `seq` after `prev`; `hash` gets its hash.
// `head` is written between seq and the body's fields, as `,"key":value` text (the store's
// chains put the replica id there), or empty.
std::string chainLine(std::string_view body, int64_t seq, std::string_view head,
                      std::string_view prev, std::string& hash);

// The prev of a chain's first record.
const std::string& genesisHash();

}  // namespace jitb::audit
