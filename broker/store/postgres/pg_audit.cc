#include "broker/store/postgres/pg_audit.h"

#include <boost/json.hpp>

#include "broker/audit/record_text.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_store.h"

namespace jitb::store::pg {

ChainLinks chainAfter(const std::string& replica, ChainHead from,
                      const std::vector<std::string>& bodies) {
  const std::string head = ",\"replica\":" + boost::json::serialize(boost::json::string_view(replica));
  ChainLinks out;
  out.head = std::move(from);
  for (const std::string& body : bodies) {
    std::string prev = std::move(out.head.hash);
    out.lines.push_back(audit::chainLine(body, ++out.head.seq, head, prev, out.head.hash));
    out.seqs.push_back(out.head.seq);
    out.prevs.push_back(std::move(prev));
    out.hashes.push_back(out.head.hash);
  }
  return out;
}

core::Status appendAudit(Conn& c, const std::string& replica, const std::vector<std::string>& bodies,
                         int64_t now_ms, ChainHead* after) {
  if (bodies.empty()) return core::okStatus();
  // Creates the head on a replica's first record; ON CONFLICT DO UPDATE locks an existing one
  // (a plain DO NOTHING would not) and returns it as it stands.
  auto h = c.query(
      "INSERT INTO audit_chains (replica_id, last_seq, last_hash) VALUES ($1, 0, $2) "
      "ON CONFLICT (replica_id) DO UPDATE SET replica_id = EXCLUDED.replica_id "
      "RETURNING last_seq, last_hash",
      {replica, audit::genesisHash()}, "lock the audit chain");
  if (!h.ok()) return h.status();
  ChainLinks links = chainAfter(replica, {h->int64(0, 0), h->text(0, 1)}, bodies);
  auto ins = c.query(
      "INSERT INTO audit_records (replica_id, seq, prev, hash, record, time) "
      "SELECT $1, s, p, h, r, $6 FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) "
      "AS u(s, p, h, r)",
      {replica, Param::array(links.seqs), Param::array(links.prevs), Param::array(links.hashes),
       Param::array(links.lines), now_ms},
      "append audit records");
  if (!ins.ok()) return ins.status();
  auto up = c.query("UPDATE audit_chains SET last_seq = $2, last_hash = $3 WHERE replica_id = $1",
                    {replica, links.head.seq, links.head.hash}, "move the audit chain's head");
  if (!up.ok()) return up.status();
  if (after) *after = std::move(links.head);
  return core::okStatus();
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
