// POST /v1/ssh/certificates: the JSON wire of SSH issuance. The caller is verified as for
// /v1/certificates (Bearer subject JWT or a client certificate of the broker's CA); the public
// key is checked before the ticket is looked up, so a bad key costs no lookup and no audit.
#include <boost/json.hpp>

#include "broker/api/issuing_api.h"
#include "broker/api/json_body.h"
#include "broker/api/oauth.h"
#include "broker/http/errors.h"
#include "broker/http/form.h"
#include "ca/ssh_key.h"

namespace jitb::api {

namespace json = boost::json;

namespace {

// The request without its caller; the key is checked here, before any lookup.
core::StatusOr<issuing::IssueRequest> sshIssueRequest(const json::object& body) {
  issuing::IssueRequest ir;
  ir.kind = policies::CredentialKind::kSsh;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"ticket", &ir.ticket},
                           {"public_key", &ir.ssh_public_key},
                           {"grant", &ir.grant}}) {
    const json::value* v = body.if_contains(key);
    if (!v) continue;
    if (!v->is_string()) return core::invalidArgument("ticket, public_key and grant must be strings");
    *dest = std::string(v->as_string());
  }
  if (ir.ticket.empty()) return core::invalidArgument("ticket is required");
  if (ir.ssh_public_key.empty())
    return core::invalidArgument("public_key is required (an OpenSSH public key line)");
  if (auto key = ca::parseSshPublicKey(ir.ssh_public_key); !key.ok())
    return core::invalidArgument(key.error().message);
  if (auto* ttl = body.if_contains("ttl")) {
    if (!ttl->is_int64() || ttl->as_int64() <= 0)
      return core::invalidArgument("ttl must be a positive whole number of seconds");
    ir.ttl = std::chrono::seconds(ttl->as_int64());
  }
  return ir;
}

}  // namespace

void IssuingApi::issueSshCertificate(http::Request& req, const http::Responder& respond,
                                     bool on_lookup_thread) {
  static const JsonRoute route{&IssuingApi::issueSshCertificate, sshIssueRequest,
                               "SSH certificate issuance is not configured"};
  issueJson(req, respond, on_lookup_thread, route);
}

http::Response IssuingApi::revokeOwnLease(http::Request& req) {
  auto caller = d_.service.identify(http::bearerToken(req), req.peer_cert_der);
  if (!caller.ok()) return callerRefused(caller.status(), Wire::kJson, false);
  auto body = jsonObjectBody(req);
  if (!body.ok()) return http::errorResponse(body.status());
  const json::value* id = body->if_contains("lease_id");
  if (!id || !id->is_string() || id->as_string().empty())
    return http::errorResponse(core::invalidArgument("lease_id is required"));
  std::string lease_id(id->as_string());
  auto changed = d_.service.revokeOwnLease(*caller, lease_id);
  if (!changed.ok()) return http::errorResponse(changed.status());
  return http::jsonResponse(200, {{"lease_id", lease_id}, {"changed", *changed}});
}

}  // namespace jitb::api
