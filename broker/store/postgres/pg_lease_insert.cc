#include "broker/store/postgres/pg_lease_insert.h"

#include "broker/store/postgres/pg_rows.h"

namespace jitb::store::pg {

namespace {
// One text[] per column: the statement's size grows with the group, its round trips do not.
struct Columns {
  std::vector<std::string> id, kind, ticket, grant, subject, state, issued, expires, ended, reason,
      jti, serial, claims, review, caller_issuer, caller_claims;
  void add(const LeaseRow& l) {
    id.push_back(l.id);
    kind.push_back(std::to_string(static_cast<int>(l.kind)));
    ticket.push_back(l.ticket);
    grant.push_back(l.grant);
    subject.push_back(l.subject);
    state.push_back(std::to_string(static_cast<int>(l.state)));
    issued.push_back(std::to_string(l.issued_at));
    expires.push_back(std::to_string(l.expires_at));
    ended.push_back(std::to_string(l.ended_at));
    reason.push_back(l.reason);
    jti.push_back(l.jti);  // '' is stored as NULL, as Param::orNull does
    serial.push_back(l.serial);
    claims.push_back(l.claims);
    review.push_back(std::to_string(static_cast<int>(l.review)));
    caller_issuer.push_back(l.caller_issuer);
    caller_claims.push_back(l.caller_claims);
  }
};
}  // namespace

core::StatusOr<std::vector<InsertOutcome>> insertLeases(Conn& c,
                                                        const std::vector<const LeaseRow*>& leases,
                                                        const LeaseQuotas& quotas) {
  Columns cols;
  for (const LeaseRow* l : leases) cols.add(*l);
  auto r = c.query(
      "SELECT refused, t_found, t_state, t_window, t_json FROM insert_leases("
      "$1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], "
      "$8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], "
      "$14::int[], $15::text[], $16::text[], $17, $18)",
      {textArray(cols.id), textArray(cols.kind), textArray(cols.ticket), textArray(cols.grant),
       textArray(cols.subject), textArray(cols.state), textArray(cols.issued),
       textArray(cols.expires), textArray(cols.ended), textArray(cols.reason), textArray(cols.jti),
       textArray(cols.serial), textArray(cols.claims), textArray(cols.review),
       textArray(cols.caller_issuer), textArray(cols.caller_claims), quotas.per_subject,
       quotas.per_ticket},
      "insert leases");
  if (!r.ok()) return r.status();
  if (r->rows() != static_cast<int>(leases.size()))
    return core::internalError("insert leases: " + std::to_string(r->rows()) + " outcomes for " +
                               std::to_string(leases.size()) + " leases");
  std::vector<InsertOutcome> out(leases.size());
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

}  // namespace jitb::store::pg
