// libFuzzer target: arbitrary bytes as a JSON request body (the input's first line is its
// Content-Type), through api::jsonObjectBody as every JSON endpoint reads it, then through what
// the handlers do with the object: the ticket of a ticket event (ticketFromJson, and the
// ticketToJson a GET /v1/tickets/{id} answers with), a certificate request through
// api::parseCertificateRequest as POST /v1/certificates parses it, the string fields of the
// ServiceNow and Jira triggers, and a lease rendered with caller-chosen strings. The same
// bytes, as a form, go through api::parseTokenExchangeForm as POST /v1/token parses them.
#include <algorithm>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "broker/api/issuing_requests.h"
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
  // The token endpoint's form parser, with and without a client certificate to stand in.
  http::Request form = req;
  form.headers["content-type"] = "application/x-www-form-urlencoded";
  (void)api::parseTokenExchangeForm(form, size % 2 == 0);
  (void)api::parseTokenForm(form);

  auto body = api::jsonObjectBody(req);
  if (!body.ok()) return 0;

  if (auto* t = body->if_contains("ticket")) {
    auto ticket = tickets::ticketFromJson(*t);
    if (ticket.ok()) (void)json::serialize(tickets::ticketToJson(*ticket));
  }
  if (auto* issue = body->if_contains("issue"); issue && issue->is_object())
    (void)stringAt(issue->as_object(), "key");

  // POST /v1/certificates as the endpoint parses it, and the lease the admin views would show
  // for it (times come from the broker's clock).
  auto cert = api::parseCertificateRequest(*body);
  if (!cert.ok()) return 0;
  store::LeaseRow l;
  l.kind = cert->server_key ? store::LeaseKind::kCertificate : store::LeaseKind::kToken;
  l.ticket = cert->ticket;
  l.grant = cert->grant;
  l.subject = stringAt(*body, "number");  // the ServiceNow trigger's record number
  l.issued_at = l.expires_at = 1795456800000;
  if (cert->ttl) l.expires_at += std::min<int64_t>(cert->ttl->count(), 366 * 86400) * 1000;
  (void)json::serialize(api::leaseJson(l));
  return 0;
}
