#include "broker/leases/end_records.h"

#include <algorithm>
#include <boost/json.hpp>

#include "broker/audit/record_text.h"

namespace jitb::leases {

namespace json = boost::json;

std::vector<audit::Record> endRecords(const std::vector<store::EndedLease>& leases,
                                      store::LeaseState state, const std::string& reason) {
  const char* event = state == store::LeaseState::kExpired ? "lease.expired" : "lease.revoked";
  std::vector<audit::Record> out;
  for (size_t i = 0; i < leases.size(); i += kAuditChunk) {
    json::array ids;
    std::string ticket = leases[i].ticket;
    for (size_t j = i; j < std::min(leases.size(), i + kAuditChunk); ++j) {
      ids.emplace_back(leases[j].id);
      if (leases[j].ticket != ticket) ticket.clear();
    }
    json::object f{{"reason", reason}, {"count", ids.size()}, {"leases", std::move(ids)}};
    if (!ticket.empty()) f["ticket"] = ticket;
    out.push_back({event, std::move(f)});
  }
  return out;
}

store::EndAudit endAudit(const core::Clock& clock, store::LeaseState state, std::string reason,
                         MoreRecords more) {
  return [&clock, state, reason = std::move(reason),
          more = std::move(more)](const std::vector<store::EndedLease>& ended) {
    std::vector<audit::Record> records = endRecords(ended, state, reason);
    if (more) {
      std::vector<audit::Record> extra = more(ended);
      records.insert(records.end(), std::make_move_iterator(extra.begin()),
                     std::make_move_iterator(extra.end()));
    }
    const core::TimePoint now = clock.now();
    std::vector<std::string> bodies;
    bodies.reserve(records.size());
    for (const audit::Record& r : records) bodies.push_back(audit::recordBody(r, now));
    return bodies;
  };
}

}  // namespace jitb::leases
