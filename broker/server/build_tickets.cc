#include "broker/server/build_tickets.h"

#include "broker/api/leases_api.h"
#include "broker/api/tickets_api.h"

namespace jitb::server {

core::StatusOr<Tickets> buildTickets(const Config& cfg, TicketDeps deps, http::Router& router) {
  Tickets t;
  t.service = std::make_unique<tickets::TicketService>(deps.store, deps.leases, deps.review,
                                                       deps.audit, deps.clock);
  // Reviews a crash or failure interrupted run again with every store poll, and at start.
  deps.leases.addSweeper([svc = t.service.get()] { (void)svc->sweepReviews(); });
  t.refresher = std::make_unique<tickets::Refresher>(*t.service, deps.clock, cfg.ticket_max_age,
                                                     cfg.ticket_negative_ttl);
  api::addTicketRoutes(router, {*t.service, deps.store, deps.admin, deps.webhook_secret, deps.clock,
                                [r = t.refresher.get()](std::string_view id) {
                                  auto* s = r->sourceFor(id);
                                  return s ? std::string(s->name()) : std::string();
                                }});
  api::addLeaseRoutes(router, deps.store, deps.leases, deps.admin);
  auto itsm = wireItsm(cfg, *t.refresher, deps.store, deps.registry, deps.clock, router);
  if (!itsm.ok()) return itsm.status();
  t.itsm = std::move(*itsm);
  return t;
}

}  // namespace jitb::server
