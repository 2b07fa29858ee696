#include "broker/api/revocations_api.h"

#include <boost/json.hpp>
#include <charconv>

#include "broker/api/json_body.h"
#include "broker/audit/audit_reader.h"
#include "broker/http/errors.h"

namespace jitb::api {

namespace json = boost::json;

namespace {

// The audit record gives the order and the reason; the store gives the times to the
// millisecond (the lease's ended_at, the ticket's received_at), which the log's second-resolution
// times cannot.
json::object revocationJson(const json::object& rec, store::Store& store) {
  json::object o;
  o["time"] = rec.contains("time") ? rec.at("time") : json::value(nullptr);
  o["reason"] = rec.contains("reason") ? rec.at("reason") : json::value(nullptr);
  o["count"] = rec.contains("count") ? rec.at("count") : json::value(nullptr);
  json::array leases;
  if (auto* ls = rec.if_contains("leases"); ls && ls->is_array()) leases = ls->as_array();
  o["leases"] = leases;
  std::string ticket;
  if (auto* t = rec.if_contains("ticket"); t && t->is_string()) ticket = t->as_string();
  o["ticket"] = ticket.empty() ? json::value(nullptr) : json::value(ticket);
  int64_t ended = 0;
  if (!leases.empty() && leases.front().is_string()) {
    auto l = store.getLease(std::string(leases.front().as_string()));
    if (l.ok() && l->has_value()) ended = (*l)->ended_at;
  }
  o["revoked_at"] = ended ? json::value(rfc3339Ms(ended)) : json::value(nullptr);
  int64_t received = 0;
  if (!ticket.empty()) {
    auto t = store.getTicket(ticket);
    if (t.ok() && t->has_value()) {
      received = (*t)->received_at;
      o["ticket_state"] = (*t)->state;
    }
  }
  o["close_received_at"] = received ? json::value(rfc3339Ms(received)) : json::value(nullptr);
  // Only when the ticket's last event came before the revocation (it caused it); a later
  // event would give a negative lag that means nothing.
  o["lag_ms"] = ended && received && received <= ended ? json::value(ended - received)
                                                       : json::value(nullptr);
  return o;
}

}  // namespace

void addRevocationRoute(http::Router& router, std::string audit_path, store::Store& store,
                        const AdminAuth& admin) {
  router.add("GET", "/v1/revocations", [audit_path, &store, &admin](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    audit::RecordQuery q;
    q.events = {"lease.revoked"};
    q.ticket = req.query["ticket"];
    q.limit = 50;
    if (auto l = req.query.find("limit"); l != req.query.end()) {
      size_t n = 0;
      auto [p, ec] = std::from_chars(l->second.data(), l->second.data() + l->second.size(), n);
      if (ec != std::errc() || p != l->second.data() + l->second.size() || n < 1 || n > 500)
        return http::errorResponse(core::invalidArgument("limit must be 1-500"));
      q.limit = n;
    }
    auto found = audit::findRecords(audit_path, q);
    if (!found.ok()) return http::errorResponse(found.status());
    json::array arr;
    for (auto it = found->rbegin(); it != found->rend(); ++it)
      arr.push_back(revocationJson(*it, store));
    return http::jsonResponse(200, {{"revocations", std::move(arr)}});
  });
}

}  // namespace jitb::api
