#include "broker/api/itsm_api.h"

#include <boost/json.hpp>

#include "broker/api/json_body.h"
#include "broker/core/log.h"
#include "broker/http/errors.h"
#include "broker/tickets/webhook.h"

namespace jitb::api {

namespace json = boost::json;

namespace {

std::string stringAt(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

http::Response refreshed(tickets::Refresher& r, tickets::TicketSource& source, const std::string& id) {
  auto out = r.refresh(source, {id});
  if (!out.ok()) {
    core::logEvent("error", source.name(), "ticket.trigger_failed",
                   {{"ticket", id}, {"error", out.status().message()}, {"detail", out.status().detail()}});
    return http::errorResponse(out.status());
  }
  return http::jsonResponse(200, {{"outcome", out->applied ? "applied" : "unchanged"},
                                  {"ticket", id},
                                  {"revoked", out->revoked}});
}

}  // namespace

void addItsmRoutes(http::Router& router, ItsmApiDeps d) {
  if (d.servicenow) {
    router.add("POST", "/v1/tickets/servicenow", [d](http::Request& req) {
      auto body = signedJsonObjectBody(req, d.servicenow_secret, d.clock.now());
      if (!body.ok()) return http::errorResponse(body.status());
      std::string number = stringAt(*body, "number");
      if (!d.servicenow->owns(number))
        return http::errorResponse(core::invalidArgument(
            "'number' must name a record of a configured table (e.g. CHG0030001)"));
      return refreshed(d.refresher, *d.servicenow, number);
    });
  } else {
    // Otherwise the path would match GET /v1/tickets/{id} and answer 405, which says nothing.
    router.addInline("POST", "/v1/tickets/servicenow", [](http::Request&) {
      return http::errorResponse(core::notFound(
          "ServiceNow is not configured on this broker: add tickets.servicenow to its config"));
    });
  }
  if (d.jira) {
    router.add("POST", "/v1/tickets/jira", [d](http::Request& req) {
      core::Status sig = tickets::verifyHubSignature(req.header("x-hub-signature"), req.body, d.jira_secret);
      if (!sig.ok()) return http::errorResponse(sig);
      std::string delivery(req.header("x-atlassian-webhook-identifier"));
      if (delivery.empty() || delivery.size() > 200)
        return http::errorResponse(core::invalidArgument("X-Atlassian-Webhook-Identifier is required"));
      auto body = jsonObjectBody(req);
      if (!body.ok()) return http::errorResponse(body.status());
      const json::value* issue = body->if_contains("issue");
      std::string key = issue && issue->is_object() ? stringAt(issue->as_object(), "key") : "";
      if (key.empty())
        return http::errorResponse(core::invalidArgument("the body must carry issue.key"));
      if (!d.jira->owns(key))
        return http::jsonResponse(202, {{"outcome", "ignored"}, {"reason", "not_tracked"}, {"ticket", key}});
      auto first = d.store.claimDelivery("jira:" + delivery, tickets::toMillis(d.clock.now()));
      if (!first.ok()) return http::errorResponse(first.status());
      if (!*first)
        return http::jsonResponse(202, {{"outcome", "ignored"}, {"reason", "duplicate_delivery"}, {"ticket", key}});
      http::Response r = refreshed(d.refresher, *d.jira, key);
      // Jira retries a failed delivery with the same id: that retry must be processed.
      if (r.status >= 500) (void)d.store.releaseDelivery("jira:" + delivery);
      return r;
    });
  } else {
    router.addInline("POST", "/v1/tickets/jira", [](http::Request&) {
      return http::errorResponse(core::notFound(
          "Jira is not configured on this broker: add tickets.jira to its config"));
    });
  }
}

}  // namespace jitb::api
