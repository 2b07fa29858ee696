#include "broker/audit/record_text.h"

#include <boost/json.hpp>

#include "broker/core/duration.h"
#include "broker/core/encoding.h"

namespace jitb::audit {

namespace json = boost::json;

std::string recordBody(const Record& r, core::TimePoint time) {
  // Written out rather than built as one more object: its allocations and rehashing were a few
  // percent of a token's CPU.
  std::string body =
      "{\"time\":\"" + core::formatRfc3339(time) + "\",\"event\":" + json::serialize(r.event);
  auto member = [&body](std::string_view key, std::string_view json_text) {
    if (key == "time" || key == "event") return;
    body += ',';
    body += json::serialize(json::string_view(key));
    body += ':';
    body += json_text;
  };
  for (const auto& kv : r.fields) member(kv.key(), json::serialize(kv.value()));
  for (const auto& [key, text] : r.json_fields) member(key, text);
  body += '}';
  return body;
}

std::string chainLine(std::string_view body, int64_t seq, std::string_view head,
                      std::string_view prev, std::string& hash) {
  std::string rec = "{\"seq\":" + std::to_string(seq);
  rec += head;
  if (body.size() > 2) {  // not "{}"
    rec += ',';
    rec += body.substr(1, body.size() - 2);
  }
  rec += ",\"prev\":\"";
  rec += prev;
  rec += "\"}";
  hash = core::hexEncode(core::sha256(rec));
  rec.pop_back();
  rec += ",\"hash\":\"" + hash + "\"}";
  return rec;
}

const std::string& genesisHash() {
  static const std::string kGenesis(64, '0');
  return kGenesis;
}

}  // namespace jitb::audit
