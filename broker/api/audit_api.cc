#include "broker/api/audit_api.h"

#include <boost/json.hpp>
#include <charconv>

#include "broker/audit/audit_reader.h"
#include "broker/http/errors.h"

namespace jitb::api {

namespace json = boost::json;

namespace {

std::vector<std::string> splitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t comma = s.find(',', at);
    if (comma == std::string::npos) comma = s.size();
    if (comma > at) out.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

}  // namespace

void addAuditRoutes(http::Router& router, std::string audit_path, const AdminAuth& admin) {
  router.add("GET", "/v1/audit/state", [audit_path, &admin](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    auto st = audit::chainState(audit_path);
    if (!st.ok()) return http::errorResponse(st.status());
    const audit::VerifyResult& v = st->verify;
    json::object o{{"intact", v.ok},
                   {"records", v.lines},
                   {"first_seq", st->first_seq},
                   {"verified_through_seq", st->last_seq},
                   {"last_hash", v.last_hash},
                   {"continues_rotated_file", st->first_seq > 1}};
    if (!v.ok) {
      o["bad_line"] = v.bad_line;
      o["problem"] = v.message;
    }
    return http::jsonResponse(200, o);
  });

  router.add("GET", "/v1/audit/records", [audit_path, &admin](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    audit::RecordQuery q;
    q.ticket = req.query["ticket"];
    q.lease = req.query["lease"];
    q.events = splitCommas(req.query["event"]);
    if (auto l = req.query.find("limit"); l != req.query.end()) {
      size_t n = 0;
      auto [p, ec] = std::from_chars(l->second.data(), l->second.data() + l->second.size(), n);
      if (ec != std::errc() || p != l->second.data() + l->second.size() || n < 1 || n > 5000)
        return http::errorResponse(core::invalidArgument("limit must be 1-5000"));
      q.limit = n;
    }
    auto found = audit::findRecords(audit_path, q);
    if (!found.ok()) return http::errorResponse(found.status());
    json::array arr;
    for (auto& r : *found) arr.emplace_back(std::move(r));
    return http::jsonResponse(200, {{"records", std::move(arr)}});
  });

  // The file as it stands (complete lines), for `jitctl audit verify` elsewhere.
  router.add("GET", "/v1/audit/export", [audit_path, &admin](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    auto text = audit::readCompleteLines(audit_path);
    if (!text.ok()) return http::errorResponse(text.status());
    http::Response r;
    r.content_type = "application/x-ndjson";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"audit.log\"");
    r.body = std::move(*text);
    return r;
  });
}

}  // namespace jitb::api
