// The composition root's ticket step: the ticket service, the refresher that reads stale
// tickets from their source, the configured ITSM sources, and the ticket and lease routes.
#pragma once

#include <memory>
#include <string>

#include "broker/api/admin.h"
#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/http/router.h"
#include "broker/leases/lease_manager.h"
#include "broker/metrics/registry.h"
#include "broker/server/config.h"
#include "broker/server/itsm_wiring.h"
#include "broker/store/store.h"
#include "broker/tickets/refresher.h"
#include "broker/tickets/service.h"

namespace jitb::server {

struct Tickets {
  std::unique_ptr<tickets::TicketService> service;
  std::unique_ptr<tickets::Refresher> refresher;
  std::unique_ptr<ItsmParts> itsm;  // pollers not started
};

struct TicketDeps {
  store::Store& store;
  leases::LeaseManager& leases;
  tickets::LeaseReview& review;
  audit::AuditSink& audit;
  const core::Clock& clock;
  metrics::Registry& registry;
  const api::AdminAuth& admin;
  std::string webhook_secret;
};

// Adds the ticket routes, then the lease routes, then each ITSM source's trigger route. Fails
// when an ITSM secret file cannot be read.
core::StatusOr<Tickets> buildTickets(const Config& cfg, TicketDeps deps, http::Router& router);

}  // namespace jitb::server
