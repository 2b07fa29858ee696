#include "broker/store/job_payload.h"

#include <boost/json.hpp>

namespace jitb::store {

std::string revocationPayload(const EndedLease& l, const std::string& reason, int64_t now) {
  // Serialized by Boost.JSON: a ticket id or reason is escaped whatever it holds.
  boost::json::object o{{"event", "lease.revoked"},
                        {"lease", l.id},
                        {"kind", toString(l.kind)},
                        {"ticket", l.ticket},
                        {"reason", reason}};
  if (!l.jti.empty()) o["jti"] = l.jti;
  if (!l.serial.empty()) o["serial"] = l.serial;
  o["revoked_at_ms"] = now;
  return boost::json::serialize(o);
}

std::string databaseJobPayload(const EndedLease& l, const std::string& reason, int64_t now) {
  return boost::json::serialize(boost::json::object{
      {"event", "database.revoke"}, {"lease", l.id}, {"reason", reason}, {"ended_at_ms", now}});
}

}  // namespace jitb::store
