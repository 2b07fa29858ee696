#include "broker/api/issuing_api.h"

#include <boost/json.hpp>

#include "broker/api/issuing_requests.h"
#include "broker/api/json_body.h"
#include "broker/api/oauth.h"
#include "broker/http/errors.h"
#include "broker/http/form.h"

namespace jitb::api {

namespace json = boost::json;
using core::Code;

namespace {

http::Response tokenIssued(issuing::Issued& issued) {
  json::object& f = issued.fields;
  http::Response r = http::jsonResponse(200, {{"access_token", std::move(f["access_token"])},
                                              {"issued_token_type", kJwtTokenType},
                                              {"token_type", "Bearer"},
                                              {"expires_in", std::move(f["expires_in"])},
                                              {"scope", std::move(f["scope"])},
                                              {"lease_id", issued.lease_id}});
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  r.subject = issued.subject;
  return r;
}

http::Response certificateIssued(issuing::Issued& issued) {
  json::object o;
  for (auto& kv : issued.fields)
    if (kv.key() != "private_key") o[kv.key()] = std::move(kv.value());
  o["lease_id"] = issued.lease_id;
  if (auto* key = issued.fields.if_contains("private_key")) o["private_key"] = std::move(*key);
  http::Response r = http::jsonResponse(201, o);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.subject = issued.subject;
  return r;
}

// The outcome as the wire `w` shows it.
issuing::Completion answerWith(Wire w, const http::Responder& respond) {
  return [w, respond](issuing::Outcome out) {
    if (auto* issued = std::get_if<issuing::Issued>(&out))
      return respond(w == Wire::kOAuth ? tokenIssued(*issued) : certificateIssued(*issued));
    if (auto* denial = std::get_if<issuing::Denial>(&out)) return respond(denialResponse(*denial, w));
    respond(failureResponse(std::get<core::Status>(out), w));
  };
}

core::StatusOr<issuing::IssueRequest> certificateIssueRequest(const json::object& body) {
  auto cr = parseCertificateRequest(body);
  if (!cr.ok()) return cr.status();
  issuing::IssueRequest ir;
  ir.ticket = std::move(cr->ticket);
  ir.kind = policies::CredentialKind::kCertificate;
  ir.grant = std::move(cr->grant);
  ir.ttl = cr->ttl;
  ir.csr = std::move(cr->csr);
  ir.server_key = cr->server_key;
  return ir;
}

}  // namespace

IssuingApi::IssuingApi(IssuingApiDeps deps) : d_(std::move(deps)) {
  d_.metrics.declareCounter("jitbroker_lookups_refused_total",
                            "Issuances refused with 503 before their ticket lookup: every lookup "
                            "thread busy, or the caller at its limit.");
}

std::optional<http::Response> IssuingApi::moveToLookupThread(Entry entry, http::Request& req,
                                                             const http::Responder& respond) {
  auto work = [this, entry, req = std::move(req), respond]() mutable {
    (this->*entry)(req, respond, true);
  };
  if (!d_.lookups) {
    respond.offload(std::move(work));
    return std::nullopt;
  }
  // Refused rather than queued: a queue would only hand the wait to the caller's connection.
  if (d_.lookups->trySubmit(std::move(work))) return std::nullopt;
  d_.metrics.add("jitbroker_lookups_refused_total", {{"reason", "busy"}});
  return http::errorResponse(core::unavailable("too many ticket lookups are under way; try again shortly"));
}

std::optional<http::Response> IssuingApi::admitLookup(
    const issuing::Caller& caller, std::optional<issuing::LookupGate::Permit>& permit) {
  if (!d_.lookups) return std::nullopt;
  issuing::LookupGate::Refusal why{};
  if (auto p = d_.lookups->admit(caller.issuer + '\n' + caller.subject, &why)) {
    permit.emplace(std::move(*p));
    return std::nullopt;
  }
  bool rate = why == issuing::LookupGate::Refusal::kRate;
  d_.metrics.add("jitbroker_lookups_refused_total",
                 {{"reason", rate ? "per_caller_rate" : "per_caller"}});
  return http::errorResponse(core::unavailable(
      rate ? "this caller asks for tickets that must be read from their source too often; try again shortly"
           : "this caller has too many ticket lookups under way; try again shortly"));
}

void IssuingApi::exchangeToken(http::Request& req, const http::Responder& respond,
                               bool on_lookup_thread) {
  bool peer = !req.peer_cert_der.empty() && d_.service.acceptsPeers();
  auto form = parseTokenExchangeForm(req, peer);
  if (!form.ok())
    return respond(oauthError(form.status().code(), form.status().detail(), form.status().message()));
  if (!on_lookup_thread && (jwtMayWait(form->subject_token) || ticketMayWait(form->ticket))) {
    if (auto busy = moveToLookupThread(&IssuingApi::exchangeToken, req, respond))
      respond(std::move(*busy));
    return;
  }
  auto caller = d_.service.identify(form->subject_token, req.peer_cert_der);
  if (!caller.ok())
    return respond(callerRefused(caller.status(), Wire::kOAuth, form->client_certificate));
  req.body.clear();  // the caller's token is not needed any longer
  std::optional<issuing::LookupGate::Permit> permit;  // held while the ticket is looked up
  if (on_lookup_thread)
    if (auto busy = admitLookup(*caller, permit)) return respond(std::move(*busy));
  issuing::IssueRequest ir;
  ir.caller = std::move(*caller);
  ir.ticket = std::move(form->ticket);
  ir.kind = policies::CredentialKind::kToken;
  ir.grant = std::move(form->grant);
  ir.audience = std::move(form->audience);
  ir.scopes = std::move(form->scopes);
  ir.ttl = form->ttl;
  d_.service.issue(std::move(ir), answerWith(Wire::kOAuth, respond), respond.offloader());
}

void IssuingApi::issueJson(http::Request& req, const http::Responder& respond,
                           bool on_lookup_thread, const JsonRoute& route) {
  std::string_view jwt = http::bearerToken(req);
  if (!on_lookup_thread && jwtMayWait(jwt)) {
    if (auto busy = moveToLookupThread(route.entry, req, respond)) respond(std::move(*busy));
    return;
  }
  auto caller = d_.service.identify(jwt, req.peer_cert_der);
  if (!caller.ok()) return respond(callerRefused(caller.status(), Wire::kJson, false));
  auto body = jsonObjectBody(req);
  if (!body.ok()) return respond(http::errorResponse(body.status()));
  // Parsed before any lookup: bad input costs no lookup and no audit.
  auto ir = route.parse(*body);
  if (!ir.ok()) return respond(http::errorResponse(ir.status()));
  if (!on_lookup_thread && ticketMayWait(ir->ticket)) {
    if (auto busy = moveToLookupThread(route.entry, req, respond)) respond(std::move(*busy));
    return;
  }
  if (!d_.service.canIssue(ir->kind))
    return respond(http::errorResponse(core::unavailable(route.unconfigured)));
  std::optional<issuing::LookupGate::Permit> permit;  // held while the ticket is looked up
  if (on_lookup_thread)
    if (auto busy = admitLookup(*caller, permit)) return respond(std::move(*busy));
  ir->caller = std::move(*caller);
  d_.service.issue(std::move(*ir), answerWith(Wire::kJson, respond), respond.offloader());
}

void IssuingApi::issueCertificate(http::Request& req, const http::Responder& respond,
                                  bool on_lookup_thread) {
  static const JsonRoute route{&IssuingApi::issueCertificate, certificateIssueRequest,
                               "certificate issuance is not configured"};
  issueJson(req, respond, on_lookup_thread, route);
}

http::Response IssuingApi::introspect(http::Request& req) {
  auto token = parseTokenForm(req);
  if (!token.ok()) return http::errorResponse(token.status());
  auto claims = d_.service.introspect(*token);
  if (!claims.ok()) return http::errorResponse(claims.status());
  if (!claims->has_value()) return http::jsonResponse(200, {{"active", false}});
  return http::jsonResponse(200, **claims);
}

http::Response IssuingApi::revoke(http::Request& req) {
  auto token = parseTokenForm(req);
  if (!token.ok()) return http::errorResponse(token.status());
  // RFC 7009 §2.2: unknown or invalid tokens get 200 too; holding a valid token is enough.
  core::Status st = d_.service.revokeByToken(*token);
  if (!st.ok()) return http::errorResponse(st);
  return http::jsonResponse(200, json::object{});
}

void IssuingApi::addRoutes(http::Router& router, const AdminAuth& admin) {
  router.addAsync("POST", "/v1/token", [this](http::Request& r, const http::Responder& res) {
    exchangeToken(r, res);
  });
  router.addAsync("POST", "/v1/certificates", [this](http::Request& r, const http::Responder& res) {
    issueCertificate(r, res);
  });
  router.addAsync("POST", "/v1/ssh/certificates",
                  [this](http::Request& r, const http::Responder& res) { issueSshCertificate(r, res); });
  router.add("POST", "/v1/ssh/revoke", [this](http::Request& r) { return revokeOwnLease(r); });
  // Introspection verifies a signature and reads the store: on the I/O thread.
  router.addInline("POST", "/v1/introspect", [this, &admin](http::Request& r) {
    // A question about a token, not an action: auditors may ask it.
    if (auto denied = admin.check(r, AdminAuth::Need::kRead)) return *denied;
    return introspect(r);
  });
  router.add("POST", "/v1/revoke", [this](http::Request& r) { return revoke(r); });
}

}  // namespace jitb::api
