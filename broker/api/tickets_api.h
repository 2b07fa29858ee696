// POST /v1/tickets/events (signed, docs/tickets.md#signed-events) and GET /v1/tickets/{id} (admin).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "broker/api/admin.h"
#include "broker/core/clock.h"
#include "broker/http/router.h"
#include "broker/store/store.h"
#include "broker/tickets/service.h"

namespace jitb::api {

struct TicketsApiDeps {
  tickets::TicketService& tickets;
  store::Store& store;
  const AdminAuth& admin;
  std::string webhook_secret;
  const core::Clock& clock;
  // The system of record that owns a ticket id (ServiceNow, Jira), "" for none: signed events
  // for its tickets are refused, as only it may write them.
  std::function<std::string(std::string_view id)> owner;
};

void addTicketRoutes(http::Router& router, TicketsApiDeps deps);

}  // namespace jitb::api
