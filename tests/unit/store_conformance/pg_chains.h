// Every audit chain in a PostgreSQL store, through the verifier `jitctl audit verify --config`
// uses: the tests' one check that records and heads still form whole chains.
#pragma once

#include <gtest/gtest.h>

#include "broker/audit/chains.h"
#include "broker/store/postgres/pg_audit.h"

namespace jitb::store::conformance {

inline audit::ChainsResult verifyChains(pg::Conn& c) {
  audit::ChainsVerifier v;
  EXPECT_TRUE(pg::forEachAuditRecord(c, [&](const std::string& r, int64_t seq,
                                            const std::string& line) {
                return v.add(r, seq, line);
              }).ok());
  EXPECT_TRUE(pg::forEachAuditHead(c, [&](const std::string& r, int64_t seq,
                                          const std::string& hash) { v.head(r, seq, hash); })
                  .ok());
  return v.finish();
}

}  // namespace jitb::store::conformance
