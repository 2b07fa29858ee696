#include "broker/store/postgres/pg_lease_insert.h"

#include "broker/store/postgres/pg_rows.h"

namespace jitb::store::pg {

namespace {
// One array per column: the statement's size grows with the group, its round trips do not.
struct Columns {
  std::vector<std::string> id, ticket, grant, subject, reason, jti, serial, claims, caller_issuer,
      caller_claims;
  std::vector<int32_t> kind, state, review;
  std::vector<int64_t> issued, expires, ended;
  void add(const LeaseRow& l) {
    id.push_back(l.id);
    kind.push_back(static_cast<int32_t>(l.kind));
    ticket.push_back(l.ticket);
    grant.push_back(l.grant);
    subject.push_back(l.subject);
    state.push_back(static_cast<int32_t>(l.state));
    issued.push_back(l.issued_at);
    expires.push_back(l.expires_at);
    ended.push_back(l.ended_at);
    reason.push_back(l.reason);
    jti.push_back(l.jti);  // '' is stored as NULL, as Param::orNull does
    serial.push_back(l.serial);
    claims.push_back(l.claims);
    review.push_back(static_cast<int32_t>(l.review));
    caller_issuer.push_back(l.caller_issuer);
    caller_claims.push_back(l.caller_claims);
  }
};

// insert_leases' 18 parameters: the columns, then the two limits.
std::vector<Param> groupParams(const std::vector<const LeaseRow*>& leases,
                               const LeaseQuotas& quotas) {
  Columns cols;
  for (const LeaseRow* l : leases) cols.add(*l);
  return {Param::array(cols.id),      Param::array(cols.kind),    Param::array(cols.ticket),
          Param::array(cols.grant),   Param::array(cols.subject), Param::array(cols.state),
          Param::array(cols.issued),  Param::array(cols.expires), Param::array(cols.ended),
          Param::array(cols.reason),  Param::array(cols.jti),     Param::array(cols.serial),
          Param::array(cols.claims),  Param::array(cols.review),  Param::array(cols.caller_issuer),
          Param::array(cols.caller_claims),
          quotas.per_subject, quotas.per_ticket};
}

core::StatusOr<std::vector<InsertOutcome>> outcomes(core::StatusOr<Result> r, size_t n,
                                                    const LeaseQuotas& quotas) {
  if (!r.ok()) return r.status();
  if (r->rows() != static_cast<int>(n))
    return core::internalError("insert leases: " + std::to_string(r->rows()) + " outcomes for " +
                               std::to_string(n) + " leases");
  std::vector<InsertOutcome> out(n);
  for (int i = 0; i < r->rows(); ++i) {
    const std::string refused = r->text(i, 0);
    if (refused == "subject")
      out[i].status = quotaExceeded("subject", quotas.per_subject);
    else if (refused == "ticket")
      out[i].status = quotaExceeded("ticket", quotas.per_ticket);
    if (r->text(i, 1) == "t")
      out[i].seen = TicketState{r->text(i, 2), r->int64(i, 3), r->text(i, 4)};
  }
  return out;
}

#define PG_INSERT_LEASES_ARGS                                                              \
  "$1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], "   \
  "$8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], "       \
  "$14::int[], $15::text[], $16::text[], $17, $18"

}  // namespace

core::StatusOr<std::vector<InsertOutcome>> insertLeases(Conn& c,
                                                        const std::vector<const LeaseRow*>& leases,
                                                        const LeaseQuotas& quotas) {
  return outcomes(c.query("SELECT refused, t_found, t_state, t_window, t_json "
                          "FROM insert_leases(" PG_INSERT_LEASES_ARGS ")",
                          groupParams(leases, quotas), "insert leases"),
                  leases.size(), quotas);
}

core::StatusOr<std::vector<InsertOutcome>> insertLeasesAudited(
    Conn& c, const std::vector<const LeaseRow*>& leases, const LeaseQuotas& quotas,
    const std::string& replica, const ChainHead& after, const ChainLinks& links, int64_t time) {
  std::vector<Param> params = groupParams(leases, quotas);
  params.insert(params.end(), {replica, after.seq, after.hash, Param::array(links.seqs),
                               Param::array(links.prevs), Param::array(links.hashes),
                               Param::array(links.lines), time});
  return outcomes(c.query("SELECT refused, t_found, t_state, t_window, t_json "
                          "FROM insert_leases_audited(" PG_INSERT_LEASES_ARGS ", $19, $20, $21, "
                          "$22::bigint[], $23::text[], $24::text[], $25::text[], $26)",
                          params, "insert leases"),
                  leases.size(), quotas);
}

}  // namespace jitb::store::pg
