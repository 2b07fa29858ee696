#include "broker/api/acme_api.h"

#include <boost/json.hpp>

#include "broker/api/json_body.h"
#include "broker/api/oauth.h"
#include "broker/http/errors.h"
#include "broker/http/form.h"

namespace jitb::api {

namespace json = boost::json;

http::Response AcmeApi::toHttp(acme::Reply r) {
  http::Response out;
  out.status = r.status;
  out.content_type = std::move(r.content_type);
  out.body = std::move(r.body);
  out.headers = std::move(r.headers);
  // RFC 8555 §6.5: every response carries a fresh nonce, so a client never needs to ask.
  out.headers.emplace_back("Replay-Nonce", d_.acme.newNonce());
  out.headers.emplace_back("Cache-Control", "no-store");
  // One Link header with every link: the server sets each header name once.
  std::string links = "<" + d_.directory_url + ">;rel=\"index\"";
  for (auto it = out.headers.begin(); it != out.headers.end();) {
    if (it->first != "Link") {
      ++it;
      continue;
    }
    links = it->second + ", " + links;
    it = out.headers.erase(it);
  }
  out.headers.emplace_back("Link", std::move(links));
  if (out.status >= 400) {
    // The type's tail, for the access log (e.g. "badNonce").
    auto at = out.body.find("acme:error:");
    if (at != std::string::npos) out.error = out.body.substr(at + 11, out.body.find('"', at) - at - 11);
  }
  return out;
}

void AcmeApi::eab(http::Request& req, const http::Responder& respond) {
  auto caller = d_.issuing.identify(http::bearerToken(req), req.peer_cert_der);
  if (!caller.ok()) return respond(callerRefused(caller.status(), Wire::kJson, false));
  auto body = jsonObjectBody(req);
  if (!body.ok()) return respond(http::errorResponse(body.status()));
  const json::value* ticket = body->if_contains("ticket");
  const json::value* grant = body->if_contains("grant");
  if (!ticket || !ticket->is_string() || ticket->as_string().empty() || ticket->as_string().size() > 256)
    return respond(http::errorResponse(core::invalidArgument("ticket must be a non-empty string")));
  if (grant && (!grant->is_string() || grant->as_string().size() > 256))
    return respond(http::errorResponse(core::invalidArgument("grant must be a string")));
  for (const auto& kv : *body)
    if (kv.key() != "ticket" && kv.key() != "grant")
      return respond(http::errorResponse(
          core::invalidArgument("unknown member '" + std::string(kv.key()) + "' (ticket, grant)")));
  if (!d_.issuing.canIssue(policies::CredentialKind::kAcmeAccount))
    return respond(http::errorResponse(core::unavailable("ACME is not configured")));
  issuing::IssueRequest ir;
  ir.caller = *caller;
  ir.ticket = std::string(ticket->as_string());
  ir.kind = policies::CredentialKind::kAcmeAccount;
  if (grant) ir.grant = std::string(grant->as_string());
  issuing::Caller who = *caller;
  std::string tid = ir.ticket;
  auto done = [this, respond, who, tid](issuing::Outcome out) {
    if (auto* denial = std::get_if<issuing::Denial>(&out)) return respond(denialResponse(*denial, Wire::kJson));
    if (auto* st = std::get_if<core::Status>(&out)) return respond(failureResponse(*st, Wire::kJson));
    // Recording the key writes to the store: not on the thread that completed the lease.
    respond.offload([this, respond, who, tid, issued = std::get<issuing::Issued>(std::move(out))]() mutable {
      json::object& f = issued.fields;
      acme::EabGrant g;
      g.kid = std::string(f["kid"].as_string());
      g.hmac_key = std::string(f["hmac_key"].as_string());
      g.lease_id = issued.lease_id;
      g.ticket = tid;
      g.caller = who;
      for (const auto& n : f["dns_sans"].as_array()) g.dns_names.emplace_back(n.as_string());
      if (core::Status st = d_.acme.recordEab(g); !st.ok())
        return respond(http::errorResponse(st));
      http::Response r = http::jsonResponse(201, {{"kid", g.kid},
                                                  {"hmac_key", g.hmac_key},
                                                  {"directory", d_.directory_url},
                                                  {"lease_id", issued.lease_id},
                                                  {"dns_names", f["dns_sans"]},
                                                  {"expires_in", f["expires_in"]}});
      r.headers.emplace_back("Cache-Control", "no-store");
      r.subject = issued.subject;
      respond(std::move(r));
    });
  };
  d_.issuing.issue(std::move(ir), std::move(done), respond.offloader());
}

void AcmeApi::addRoutes(http::Router& router) {
  router.addInline("GET", "/acme/directory", [this](http::Request&) { return toHttp(d_.acme.directory()); });
  // RFC 8555 §7.2: HEAD answers 200, GET 204; the nonce is in the header either way.
  router.addInline("HEAD", "/acme/new-nonce", [this](http::Request&) {
    acme::Reply r;
    r.content_type.clear();
    return toHttp(std::move(r));
  });
  router.addInline("GET", "/acme/new-nonce", [this](http::Request&) {
    acme::Reply r;
    r.status = 204;
    r.content_type.clear();
    return toHttp(std::move(r));
  });
  for (const char* path :
       {"/acme/new-account", "/acme/new-order", "/acme/revoke-cert", "/acme/key-change",
        "/acme/account/{id}", "/acme/account/{id}/orders", "/acme/order/{id}",
        "/acme/order/{id}/finalize", "/acme/authz/{id}", "/acme/chall/{id}", "/acme/cert/{id}"}) {
    router.addAsync("POST", path, [this](http::Request& req, const http::Responder& respond) {
      // Store reads and writes, and http-01 fetches: on a handler thread.
      respond.offload([this, respond, path = req.path.substr(5), body = std::move(req.body)] {
        d_.acme.post(
            path, body, [this, respond](acme::Reply r) { respond(toHttp(std::move(r))); },
            respond.offloader());
      });
    });
  }
  router.addAsync("POST", "/v1/acme/eab", [this](http::Request& req, const http::Responder& respond) {
    // Verifying the caller may fetch its issuer's keys, judging may read the ticket's source.
    respond.offload([this, respond, r = std::move(req)]() mutable { eab(r, respond); });
  });
}

}  // namespace jitb::api
