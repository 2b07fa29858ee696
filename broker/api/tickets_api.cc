#include "broker/api/tickets_api.h"

#include <boost/json.hpp>

#include "broker/api/json_body.h"
#include "broker/http/errors.h"
#include "broker/tickets/webhook.h"

namespace jitb::api {

namespace json = boost::json;

void addTicketRoutes(http::Router& router, TicketsApiDeps d) {
  router.add("POST", "/v1/tickets/events", [d](http::Request& req) {
    auto body = signedJsonObjectBody(req, d.webhook_secret, d.clock.now());
    if (!body.ok()) return http::errorResponse(body.status());
    auto it = body->find("ticket");
    if (it == body->end() || body->size() != 1)
      return http::errorResponse(core::invalidArgument("the body must be {\"ticket\": {...}}"));
    auto ticket = tickets::ticketFromJson(it->value());
    if (!ticket.ok()) return http::errorResponse(ticket.status());
    if (std::string owner = d.owner ? d.owner(ticket->id) : ""; !owner.empty())
      return http::errorResponse(core::conflict(
          "ticket " + ticket->id + " belongs to " + owner +
          ", the only writer of its tickets: change it there (the broker reads it from there)"));
    auto out = d.tickets.apply(*ticket, "webhook");
    if (!out.ok()) return http::errorResponse(out.status());
    if (!out->applied)
      return http::jsonResponse(202, {{"outcome", "ignored"}, {"reason", out->reason}});
    return http::jsonResponse(200, {{"outcome", "applied"}, {"revoked", out->revoked}});
  });

  router.add("GET", "/v1/tickets/{id}", [d](http::Request& req) {
    if (auto denied = d.admin.check(req)) return *denied;
    const std::string& id = req.params["id"];
    auto t = d.tickets.get(id);
    if (!t.ok()) return http::errorResponse(t.status());
    if (!t->has_value()) return http::errorResponse(core::notFound("no ticket " + id));
    json::object o = tickets::ticketToJson(**t);
    store::LeaseFilter f;
    f.ticket = id;
    f.limit = 1000;
    auto leases = d.store.listLeases(f);
    if (!leases.ok()) return http::errorResponse(leases.status());
    json::array arr;
    for (const auto& l : *leases) arr.push_back(leaseJson(l));
    o["leases"] = std::move(arr);
    o["leases_truncated"] = leases->size() == static_cast<size_t>(f.limit);
    return http::jsonResponse(200, o);
  });
}

}  // namespace jitb::api
