// A ticket as the refresher, poller and ticket-service tests feed it in: normal,
// requested by alice, approved by bob, subject "ci" with access "deploy", inside its window.
// `version` orders records of one ticket (each a second newer than the last).
#pragma once

#include <chrono>
#include <string>

#include "broker/core/clock.h"
#include "broker/tickets/ticket.h"

namespace jitb::testing {

inline tickets::Ticket sourceRecord(const core::Clock& clock, const std::string& id,
                                    std::string state, int version) {
  using namespace std::chrono_literals;
  tickets::Ticket t;
  t.id = id;
  t.state = std::move(state);
  t.kind = "normal";
  t.requested_by = "alice";
  t.approved_by = {"bob"};
  t.subjects = {"ci"};
  t.access = {"deploy"};
  t.window_start = clock.now() - 1h;
  t.window_end = clock.now() + 1h;
  t.updated_at = clock.now() - 10min + std::chrono::seconds(version);
  return t;
}

}  // namespace jitb::testing
