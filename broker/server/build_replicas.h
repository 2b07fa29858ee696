// The composition root's step for several replicas on one PostgreSQL store: the revocation
// fan-out (events of every replica applied to this one's listeners and ticket cache, woken by
// the store's NOTIFY) and the store health that makes a replica out of reach fail closed.
// Nothing with SQLite: one process owns that store, and its ends reach its listeners directly.
#pragma once

#include <memory>

#include "broker/core/clock.h"
#include "broker/leases/lease_manager.h"
#include "broker/leases/revocation_fanout.h"
#include "broker/leases/store_health.h"
#include "broker/metrics/registry.h"
#include "broker/server/config.h"
#include "broker/store/postgres/pg_listener.h"
#include "broker/store/store.h"
#include "broker/tickets/service.h"

namespace jitb::server {

struct Replicas {
  std::unique_ptr<leases::StoreHealth> health;
  std::unique_ptr<leases::RevocationFanout> fanout;
  std::unique_ptr<store::pg::Listener> listener;
  // Before the lease manager stops and the store closes.
  void stop();
};

// Null with SQLite. With PostgreSQL: the health tracker runs at once (so that /readyz,
// issuance, introspection and OCSP can ask it), the fan-out once started here.
core::StatusOr<std::unique_ptr<Replicas>> buildReplicas(const Config& cfg, store::Store& store,
                                                        leases::LeaseManager& leases,
                                                        tickets::TicketService& tickets,
                                                        const core::Clock& clock,
                                                        metrics::Registry& registry);

}  // namespace jitb::server
