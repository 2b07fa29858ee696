#include "broker/store/postgres/pg_audit.h"

#include <boost/json.hpp>

#include "broker/audit/record_text.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_store.h"

namespace jitb::store::pg {

core::Status appendAudit(Conn& c, const std::string& replica, const std::vector<std::string>& bodies,
                         int64_t now_ms) {
  if (bodies.empty()) return core::okStatus();
  // Creates the head on a replica's first record; ON CONFLICT DO UPDATE locks an existing one
  // (a plain DO NOTHING would not) and returns it as it stands.
  auto h = c.query(
      "INSERT INTO audit_chains (replica_id, last_seq, last_hash) VALUES ($1, 0, $2) "
      "ON CONFLICT (replica_id) DO UPDATE SET replica_id = EXCLUDED.replica_id "
      "RETURNING last_seq, last_hash",
      {replica, audit::genesisHash()}, "lock the audit chain");
  if (!h.ok()) return h.status();
  int64_t seq = h->int64(0, 0);
  std::string hash = h->text(0, 1);
  const std::string head = ",\"replica\":" + boost::json::serialize(boost::json::string_view(replica));
  std::vector<std::string> seqs, prevs, hashes, lines;
  for (const std::string& body : bodies) {
    std::string prev = std::move(hash);
    lines.push_back(audit::chainLine(body, ++seq, head, prev, hash));
    seqs.push_back(std::to_string(seq));
    prevs.push_back(std::move(prev));
    hashes.push_back(hash);
  }
  auto ins = c.query(
      "INSERT INTO audit_records (replica_id, seq, prev, hash, record, time) "
      "SELECT $1, s, p, h, r, $6 FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) "
      "AS u(s, p, h, r)",
      {replica, textArray(seqs), textArray(prevs), textArray(hashes), textArray(lines), now_ms},
      "append audit records");
  if (!ins.ok()) return ins.status();
  return c.query("UPDATE audit_chains SET last_seq = $2, last_hash = $3 WHERE replica_id = $1",
                 {replica, seq, hash}, "move the audit chain's head")
      .status();
}

core::Status forEachAuditRecord(
    Conn& c, const std::function<bool(const std::string& replica, int64_t seq,
                                      const std::string& line)>& fn) {
  // Keyset pages, so that a store of millions of records is read in bounded memory.
  std::string replica;
  int64_t after = -1;
  for (;;) {
    auto r = c.query(
        "SELECT replica_id, seq, record FROM audit_records WHERE (replica_id, seq) > ($1, $2) "
        "ORDER BY replica_id, seq LIMIT 5000",
        {replica, after}, "read audit records");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) {
      replica = r->text(i, 0);
      after = r->int64(i, 1);
      if (!fn(replica, after, r->text(i, 2))) return core::okStatus();
    }
    if (r->rows() < 5000) return core::okStatus();
  }
}

core::Status forEachAuditHead(
    Conn& c,
    const std::function<void(const std::string& replica, int64_t seq, const std::string& hash)>& fn) {
  auto r = c.query("SELECT replica_id, last_seq, last_hash FROM audit_chains ORDER BY replica_id",
                   {}, "read audit heads");
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) fn(r->text(i, 0), r->int64(i, 1), r->text(i, 2));
  return core::okStatus();
}

}  // namespace jitb::store::pg

namespace jitb::store {

core::Status PgAuditSink::appendAll(std::vector<audit::Record> records) {
  const core::TimePoint now = clock_.now();
  std::vector<std::string> bodies;
  bodies.reserve(records.size());
  for (const auto& r : records) bodies.push_back(audit::recordBody(r, now));
  return store_.appendAudit(bodies, core::unixMillis(now));
}

}  // namespace jitb::store
