// POST /v1/tickets/events (signed, CONTRACT.md §2) and GET /v1/tickets/{id} (admin).
#pragma once

#include <string>

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
};

void addTicketRoutes(http::Router& router, TicketsApiDeps deps);

}  // namespace jitb::api
