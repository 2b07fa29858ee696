#include "broker/tickets/poller.h"

#include <boost/json.hpp>
#include <cstdio>

#include "broker/core/log.h"

namespace jitb::tickets {

Poller::Poller(Refresher& refresher, TicketSource& source, store::Store& store,
               metrics::Registry& metrics, const core::Clock& clock,
               std::chrono::milliseconds interval)
    : refresher_(refresher),
      source_(source),
      store_(store),
      metrics_(metrics),
      clock_(clock),
      interval_(interval),
      ticker_(
          clock, [this] { pollLogged(); }, core::Ticker::Start::kWaitFirst) {
  metrics_.declareGauge("jitbroker_ticket_poll_last_success_timestamp_seconds",
                        "End of the last reconciliation pass that read every ticket, Unix seconds.");
  metrics_.declareCounter("jitbroker_ticket_poll_errors_total",
                          "Reconciliation batches that failed (source unreachable or refusing).");
  metrics_.declareCounter("jitbroker_ticket_poll_tickets_checked_total",
                          "Tickets read again from their source by reconciliation.");
  metrics_.declareCounter("jitbroker_ticket_poll_revoked_total",
                          "Leases revoked because reconciliation found their ticket changed.");
}

Poller::~Poller() { stop(); }

void Poller::start() { ticker_.start(interval_); }

void Poller::stop() { ticker_.stop(); }

core::Status Poller::pollOnce() {
  auto active = store_.activeTickets();
  if (!active.ok()) return active.status();
  std::vector<std::string> ids;
  for (const auto& t : *active)
    if (source_.owns(t.id)) ids.push_back(t.id);
  const metrics::Labels labels{{"source", std::string(source_.name())}};
  core::Status first;
  for (size_t i = 0; i < ids.size(); i += source_.batchSize()) {
    std::vector<std::string> batch(ids.begin() + i,
                                   ids.begin() + std::min(ids.size(), i + source_.batchSize()));
    auto r = refresher_.refresh(source_, batch);
    if (!r.ok()) {
      // The other batches still run: one bad page must not keep the rest alive.
      metrics_.add("jitbroker_ticket_poll_errors_total", labels);
      if (first.ok()) first = r.status();
      continue;
    }
    metrics_.add("jitbroker_ticket_poll_tickets_checked_total", labels, static_cast<double>(r->checked));
    metrics_.add("jitbroker_ticket_poll_revoked_total", labels, static_cast<double>(r->revoked));
  }
  if (first.ok()) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch());
    metrics_.set("jitbroker_ticket_poll_last_success_timestamp_seconds", labels,
                 static_cast<double>(secs.count()));
  }
  return first;
}

void Poller::pollLogged() {
  core::Status st = pollOnce();
  if (!st.ok())
    core::logEvent("error", source_.name(), "ticket.poll_failed",
                   {{"source", source_.name()}, {"error", st.message()}, {"detail", st.detail()}});
}

}  // namespace jitb::tickets
