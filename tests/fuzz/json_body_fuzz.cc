// libFuzzer target: arbitrary bytes as a JSON request body (the input's first line is its
// Content-Type), through api::jsonObjectBody as every JSON endpoint reads it, then through what
// the handlers do with the object: the ticket of a ticket event (ticketFromJson, and the
// ticketToJson a GET /v1/tickets/{id} answers with), the string fields of a certificate request
// and of the ServiceNow and Jira triggers, and a lease rendered with caller-chosen strings.
// Issuer::issueCertificate reads its fields inline (it needs a verified caller first), so this
// reads the same keys the same way; keep the two in step.
#include <algorithm>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "broker/api/json_body.h"
#include "broker/tickets/ticket.h"

namespace json = boost::json;
using namespace jitb;

namespace {

std::string stringAt(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  http::Request req;
  req.method = "POST";
  req.path = req.encoded_path = "/v1/certificates";
  if (nl == std::string_view::npos) {
    req.headers["content-type"] = "application/json";
    req.body = std::string(in);
  } else {
    req.headers["content-type"] = std::string(in.substr(0, nl));
    req.body = std::string(in.substr(nl + 1));
  }
  auto body = api::jsonObjectBody(req);
  if (!body.ok()) return 0;

  if (auto* t = body->if_contains("ticket")) {
    auto ticket = tickets::ticketFromJson(*t);
    if (ticket.ok()) (void)json::serialize(tickets::ticketToJson(*ticket));
  }
  if (auto* issue = body->if_contains("issue"); issue && issue->is_object())
    (void)stringAt(issue->as_object(), "key");

  // The fields of POST /v1/certificates, read as Issuer::issueCertificate reads them, and
  // the lease the admin views would show for them (times come from the broker's clock).
  auto field = [&](const char* k) -> std::optional<std::string> {
    auto* v = body->if_contains(k);
    if (!v) return std::string();
    if (!v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  auto ticket = field("ticket"), csr = field("csr"), grant = field("grant"),
       key_type = field("key_type");
  if (!ticket || !csr || !grant || !key_type) return 0;
  store::LeaseRow l;
  l.kind = *key_type == "server" ? store::LeaseKind::kCertificate : store::LeaseKind::kToken;
  l.ticket = *ticket;
  l.grant = *grant;
  l.subject = stringAt(*body, "number");  // the ServiceNow trigger's record number
  l.issued_at = l.expires_at = 1795456800000;
  if (auto* ttl = body->if_contains("ttl"); ttl && ttl->is_int64() && ttl->as_int64() > 0)
    l.expires_at += std::min<int64_t>(ttl->as_int64(), 366 * 86400) * 1000;
  (void)json::serialize(api::leaseJson(l));
  return 0;
}
