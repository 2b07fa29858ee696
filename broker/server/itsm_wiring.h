// Builds the configured ticket sources (ServiceNow, Jira), their HTTP clients, trigger routes
// and reconciliation pollers.
#pragma once

#include <memory>
#include <vector>

#include "broker/http/router.h"
#include "broker/metrics/registry.h"
#include "broker/server/config.h"
#include "broker/store/store.h"
#include "broker/tickets/poller.h"
#include "broker/tickets/refresher.h"

namespace jitb::server {

struct ItsmParts {
  std::vector<std::shared_ptr<tickets::TicketSource>> sources;
  std::vector<std::unique_ptr<tickets::Poller>> pollers;
  void start() {
    for (auto& p : pollers) p->start();
  }
  void stop() {
    for (auto& p : pollers) p->stop();
  }
};

// Adds every configured source to `refresher` and its trigger route to `router`. Fails when a
// secret file cannot be read.
core::StatusOr<std::unique_ptr<ItsmParts>> wireItsm(const Config& cfg, tickets::Refresher& refresher,
                                                    store::Store& store, metrics::Registry& metrics,
                                                    const core::Clock& clock, http::Router& router);

}  // namespace jitb::server
