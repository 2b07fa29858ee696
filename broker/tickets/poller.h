// Reconciliation of one source: every interval, each of its tickets that still has active leases is read again from
// its source (a page of tickets per call) and what changed is applied, so a ticket closed
// while its webhook was lost is revoked within one interval. Requests towards the ITSM API
// are paced and backed off by ItsmHttp; this loop adds the interval. Its state is in
// /metrics: last success, errors and tickets checked, per source. Thread-safe.
#pragma once

#include <chrono>

#include "broker/core/ticker.h"
#include "broker/metrics/registry.h"
#include "broker/store/store.h"
#include "broker/tickets/refresher.h"

namespace jitb::tickets {

class Poller {
 public:
  Poller(Refresher& refresher, TicketSource& source, store::Store& store,
         metrics::Registry& metrics, const core::Clock& clock, std::chrono::milliseconds interval);
  ~Poller();

  void start();
  void stop();
  // One pass over the source's tickets that have active leases; the first error is returned
  // after every batch was tried.
  core::Status pollOnce();

 private:
  void pollLogged();

  Refresher& refresher_;
  TicketSource& source_;
  store::Store& store_;
  metrics::Registry& metrics_;
  const core::Clock& clock_;
  std::chrono::milliseconds interval_;
  core::Ticker ticker_;  // last: stopped before the members pollOnce() uses
};

}  // namespace jitb::tickets
