// Triggers from ITSM systems. Neither body is trusted for content: an authentic trigger only
// makes the broker read the ticket again from the source's API, whose answer is applied.
//   POST /v1/tickets/servicenow  X-Jitbroker-Signature (a Business Rule computes it;
//                                examples/servicenow/), body {"number": "CHG...", ...}
//   POST /v1/tickets/jira        X-Hub-Signature: sha256=..., deduplicated by
//                                X-Atlassian-Webhook-Identifier
#pragma once

#include <string>

#include "broker/core/clock.h"
#include "broker/http/router.h"
#include "broker/store/store.h"
#include "broker/tickets/refresher.h"

namespace jitb::api {

struct ItsmApiDeps {
  tickets::Refresher& refresher;
  store::Store& store;  // delivery ids
  const core::Clock& clock;
  tickets::TicketSource* servicenow = nullptr;  // routes exist only for configured sources
  std::string servicenow_secret;
  tickets::TicketSource* jira = nullptr;
  std::string jira_secret;
};

void addItsmRoutes(http::Router& router, ItsmApiDeps deps);

}  // namespace jitb::api
