#include "broker/server/build_replicas.h"

#include <set>
#include <string>

#include "broker/server/build_support.h"

namespace jitb::server {

void Replicas::stop() {
  if (listener) listener->stop();
  if (fanout) fanout->stop();
  if (health) health->stop();
}

core::StatusOr<std::unique_ptr<Replicas>> buildReplicas(const Config& cfg, store::Store& store,
                                                        leases::LeaseManager& leases,
                                                        tickets::TicketService& tickets,
                                                        const core::Clock& clock,
                                                        metrics::Registry& registry) {
  if (cfg.postgres_url.empty()) return std::unique_ptr<Replicas>();
  auto r = std::make_unique<Replicas>();
  r->health = std::make_unique<leases::StoreHealth>(
      clock, [&store] { return store.roundTrips(); },
      [&store] { return store.getTicket("store-health-probe").status(); }, registry);
  r->health->start();
  r->fanout = std::make_unique<leases::RevocationFanout>(
      store, clock, registry,
      [&leases, &tickets](const std::vector<store::EndedLease>& ended, store::LeaseState state) {
        // The ticket that changed elsewhere may sit in this process's cache as it was.
        std::set<std::string> seen;
        for (const auto& l : ended)
          if (!l.ticket.empty() && seen.insert(l.ticket).second) tickets.forget(l.ticket);
        leases.endedElsewhere(ended, state);
      });
  if (core::Status st = r->fanout->start(); !st.ok())
    return prefixed("revocation fan-out: ", st);
  r->listener = std::make_unique<store::pg::Listener>(
      cfg.postgres_url, [f = r->fanout.get()] { f->poke(); });
  return r;
}

}  // namespace jitb::server
