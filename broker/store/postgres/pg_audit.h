// The audit log in PostgreSQL: one hash chain per replica in audit_records (migration
// 0013_audit_leader_crl.sql), each record the line the file log would write with the replica
// id after its seq ({"seq":N,"replica":"...",...,"prev":"...","hash":"..."}), so that
// audit::checkChainLine verifies both. Appends run inside the caller's transaction: the records
// of a change commit with it, or neither does.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/store/postgres/pg_conn.h"

namespace jitb::store {
class PgStore;
}

namespace jitb::store::pg {

// Where a chain stands: its last record's seq and hash (0 and the genesis hash when empty).
struct ChainHead {
  int64_t seq = 0;
  std::string hash;
};

// `bodies` chained after `from`: each record's seq, prev, hash and line (audit::chainLine with
// `replica` after the seq), as columns, and the head they leave.
struct ChainLinks {
  std::vector<int64_t> seqs;
  std::vector<std::string> prevs, hashes, lines;
  ChainHead head;
};
ChainLinks chainAfter(const std::string& replica, ChainHead from,
                      const std::vector<std::string>& bodies);

// Appends `bodies` (audit::recordBody texts) to `replica`'s chain in the transaction `c` is in.
// Its head row is locked until that transaction ends, so one replica's appends join the chain
// one at a time (a transaction that rolls back leaves neither records nor a gap); other
// replicas' chains are not held up.
// `after`, when given, gets the head the append left (valid once the transaction commits).
core::Status appendAudit(Conn& c, const std::string& replica, const std::vector<std::string>& bodies,
                         int64_t now_ms, ChainHead* after = nullptr);

// Every record of every chain, chain by chain in seq order; `fn` returns false to stop.
core::Status forEachAuditRecord(
    Conn& c, const std::function<bool(const std::string& replica, int64_t seq,
                                      const std::string& line)>& fn);
// Every chain's head (its last seq and hash).
core::Status forEachAuditHead(
    Conn& c,
    const std::function<void(const std::string& replica, int64_t seq, const std::string& hash)>& fn);

}  // namespace jitb::store::pg

namespace jitb::store {

// The broker's audit sink on PostgreSQL: records that describe no store change of their own
// (denials, reads, refusals) each commit in a transaction of their own; the records of a
// change go with it (Store::insertLeaseAudited). Durable when appendAll returns OK, on the
// database rather than on this replica's disk.
class PgAuditSink final : public audit::AuditSink {
 public:
  PgAuditSink(PgStore& store, const core::Clock& clock) : store_(store), clock_(clock) {}
  core::Status appendAll(std::vector<audit::Record> records) override;

 private:
  PgStore& store_;
  const core::Clock& clock_;
};

}  // namespace jitb::store
