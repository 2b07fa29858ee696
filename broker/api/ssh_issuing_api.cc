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

struct SshRequestBody {
  std::string ticket, public_key, grant;
  std::optional<std::chrono::seconds> ttl;
};

core::StatusOr<SshRequestBody> parseSshRequest(const json::object& body) {
  SshRequestBody out;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"ticket", &out.ticket},
                           {"public_key", &out.public_key},
                           {"grant", &out.grant}}) {
    const json::value* v = body.if_contains(key);
    if (!v) continue;
    if (!v->is_string()) return core::invalidArgument("ticket, public_key and grant must be strings");
    *dest = std::string(v->as_string());
  }
  if (out.ticket.empty()) return core::invalidArgument("ticket is required");
  if (out.public_key.empty())
    return core::invalidArgument("public_key is required (an OpenSSH public key line)");
  if (auto key = ca::parseSshPublicKey(out.public_key); !key.ok())
    return core::invalidArgument(key.error().message);
  if (auto* ttl = body.if_contains("ttl")) {
    if (!ttl->is_int64() || ttl->as_int64() <= 0)
      return core::invalidArgument("ttl must be a positive whole number of seconds");
    out.ttl = std::chrono::seconds(ttl->as_int64());
  }
  return out;
}

issuing::Completion sshAnswer(const http::Responder& respond) {
  return [respond](issuing::Outcome out) {
    if (auto* issued = std::get_if<issuing::Issued>(&out)) {
      json::object o = std::move(issued->fields);
      o["lease_id"] = issued->lease_id;
      http::Response r = http::jsonResponse(201, o);
      r.headers.emplace_back("Cache-Control", "no-store");
      r.subject = issued->subject;
      return respond(std::move(r));
    }
    if (auto* denial = std::get_if<issuing::Denial>(&out))
      return respond(denialResponse(*denial, Wire::kJson));
    respond(failureResponse(std::get<core::Status>(out), Wire::kJson));
  };
}

}  // namespace

void IssuingApi::issueSshCertificate(http::Request& req, const http::Responder& respond,
                                     bool on_lookup_thread) {
  std::string_view jwt = http::bearerToken(req);
  if (!on_lookup_thread && jwtMayWait(jwt)) {
    if (auto busy = moveToLookupThread(&IssuingApi::issueSshCertificate, req, respond))
      respond(std::move(*busy));
    return;
  }
  auto caller = d_.service.identify(jwt, req.peer_cert_der);
  if (!caller.ok()) return respond(callerRefused(caller.status(), Wire::kJson, false));
  auto body = jsonObjectBody(req);
  if (!body.ok()) return respond(http::errorResponse(body.status()));
  auto sr = parseSshRequest(*body);
  if (!sr.ok()) return respond(http::errorResponse(sr.status()));
  if (!on_lookup_thread && ticketMayWait(sr->ticket)) {
    if (auto busy = moveToLookupThread(&IssuingApi::issueSshCertificate, req, respond))
      respond(std::move(*busy));
    return;
  }
  if (!d_.service.canIssue(policies::CredentialKind::kSsh))
    return respond(http::errorResponse(core::unavailable("SSH certificate issuance is not configured")));
  std::optional<issuing::LookupGate::Permit> permit;  // held while the ticket is looked up
  if (on_lookup_thread)
    if (auto busy = admitLookup(*caller, permit)) return respond(std::move(*busy));
  issuing::IssueRequest ir;
  ir.caller = std::move(*caller);
  ir.ticket = std::move(sr->ticket);
  ir.kind = policies::CredentialKind::kSsh;
  ir.grant = std::move(sr->grant);
  ir.ttl = sr->ttl;
  ir.ssh_public_key = std::move(sr->public_key);
  d_.service.issue(std::move(ir), sshAnswer(respond),
                   respond.offloader());
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
