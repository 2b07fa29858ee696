#include "broker/issuing/explain.h"

#include "broker/issuing/lease_review.h"
#include "broker/tickets/ticket.h"

namespace jitb::issuing {

core::StatusOr<policies::Decision> explain(const PolicyHolder& policies, store::Store& store,
                                           const std::string& ticket_id,
                                           const boost::json::object& claims,
                                           const policies::IssueRequest& request,
                                           core::TimePoint now) {
  auto row = store.getTicket(ticket_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return core::notFound("no ticket " + ticket_id);
  auto ticket = tickets::parseStored((*row)->json);
  if (!ticket.ok()) return ticket.status();
  auto set = policies.get();
  if (!set) return core::unavailable("no policy is in force");
  policies::CallerFacts caller;
  caller.claims = claims;
  if (auto* iss = claims.if_contains("iss"); iss && iss->is_string()) caller.issuer = iss->as_string();
  if (auto* sub = claims.if_contains("sub"); sub && sub->is_string()) caller.subject = sub->as_string();
  return policies::evaluate(*set, caller, ticketFacts(*ticket), request, now);
}

}  // namespace jitb::issuing
