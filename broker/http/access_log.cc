#include "broker/http/access_log.h"

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>

#include "broker/core/duration.h"

namespace jitb::http {

std::string formatAccessLog(const AccessRecord& r) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(r.time.time_since_epoch()).count() % 1000;
  std::string ts = core::formatRfc3339(r.time);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03lldZ", static_cast<long long>(ms));
  ts.replace(ts.size() - 1, 1, frac);

  boost::json::object o;
  o["time"] = ts;
  o["method"] = r.method;
  o["path"] = r.path;
  o["route"] = r.route;
  o["status"] = r.status;
  o["duration_us"] = r.duration_us;
  if (!r.subject.empty()) o["subject"] = r.subject;
  if (!r.peer.empty()) o["peer"] = r.peer;
  if (!r.rule.empty()) o["rule"] = r.rule;
  if (!r.error.empty()) o["error"] = r.error;
  return boost::json::serialize(o);
}

}  // namespace jitb::http
