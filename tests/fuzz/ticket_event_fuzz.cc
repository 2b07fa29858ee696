// libFuzzer target: arbitrary bytes as a ticket event body, then as a signed envelope header.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "broker/tickets/ticket.h"
#include "broker/tickets/webhook.h"
#include "policies/engine/identity.h"

namespace {

// Intake's promise to evaluation: every person and subject of an accepted ticket normalises.
void mustNormalise(std::string_view who) {
  if (!jitb::policies::normaliseIdentity(who)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  boost::json::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 32;
  boost::json::value v = boost::json::parse(body, ec, {}, opts);
  if (!ec && v.is_object()) {
    if (auto* t = v.as_object().if_contains("ticket")) {
      auto ticket = jitb::tickets::ticketFromJson(*t);
      if (ticket.ok()) {
        (void)jitb::tickets::ticketToJson(*ticket);
        mustNormalise(ticket->requested_by);
        for (const auto& a : ticket->approved_by) mustNormalise(a);
        for (const auto& s : ticket->subjects) mustNormalise(s);
        if (!ticket->approved_by_ids.empty() &&
            ticket->approved_by_ids.size() != ticket->approved_by.size())
          std::abort();
      }
    }
  }
  (void)jitb::tickets::verifySignature(body, "{}", "0123456789abcdef0123456789abcdef",
                                       std::chrono::system_clock::from_time_t(1795456800));
  return 0;
}
