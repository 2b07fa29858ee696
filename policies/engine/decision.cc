#include "policies/engine/decision.h"

#include <boost/json/serializer.hpp>

namespace jitb::policies {

namespace {

// Appends `s` as a JSON string, escaped by Boost.JSON's own serializer (so the audit log's
// lines read as before), through a buffer rather than a string per value. `s` is UTF-8: the
// broker refuses other bytes where they come in (http::parseForm, the JSON parsers).
void appendQuoted(std::string& out, boost::json::serializer& sr, std::string_view s) {
  char buf[256];
  sr.reset(s);
  while (!sr.done()) out += sr.read(buf);
}

}  // namespace

std::string Decision::basisText() const {
  boost::json::serializer sr;
  std::string o;
  o.reserve(160 + 170 * basis.size());
  o += "{\"policy_file\":";
  appendQuoted(o, sr, policy_file);
  o += ",\"grant\":";
  appendQuoted(o, sr, grant);
  o += allowed ? ",\"allowed\":true" : ",\"allowed\":false";
  o += ",\"failed_rule\":";
  appendQuoted(o, sr, failed_rule);
  o += break_glass ? ",\"break_glass\":true" : ",\"break_glass\":false";
  o += ",\"rules\":[";
  for (size_t i = 0; i < basis.size(); ++i) {
    const RuleOutcome& r = basis[i];
    o += i ? ",{\"rule\":" : "{\"rule\":";
    appendQuoted(o, sr, r.rule);
    o += r.passed ? ",\"passed\":true,\"detail\":" : ",\"passed\":false,\"detail\":";
    appendQuoted(o, sr, r.detail);
    if (!r.grant.empty()) {
      o += ",\"grant\":";
      appendQuoted(o, sr, r.grant);
    }
    o += '}';
  }
  o += "]}";
  return o;
}

}  // namespace jitb::policies
