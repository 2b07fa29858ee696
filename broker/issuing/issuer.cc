#include "broker/issuing/issuer.h"

#include <atomic>
#include <boost/json.hpp>
#include <charconv>

#include "broker/api/json_body.h"
#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "broker/http/errors.h"
#include "broker/http/form.h"
#include "broker/issuing/lease_review.h"
#include "broker/leases/issuance_records.h"
#include "broker/leases/lease_id.h"

namespace jitb::issuing {

namespace json = boost::json;
using core::Code;
using core::Status;

namespace {

constexpr std::string_view kTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr std::string_view kJwtType = "urn:ietf:params:oauth:token-type:jwt";
constexpr std::string_view kIdTokenType = "urn:ietf:params:oauth:token-type:id_token";

int64_t seconds(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
int64_t millis(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// RFC 6749 §5.2 errors for /v1/token; the same body shape as everywhere else.
http::Response oauthError(int status, std::string_view error, const std::string& description) {
  http::Response r = http::jsonResponse(
      status, {{"error", error}, {"error_description", description}});
  r.error = error;
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::optional<std::chrono::seconds> parseTtl(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v <= 0 || v > 366 * 86400)
    return std::nullopt;
  return std::chrono::seconds(v);
}

json::array toArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// A client certificate revoked because its ticket is closed (PeerAuthenticator's detail): the
// answer says so as a denial does, so that a renewing agent stops for good (jitctl exit 5).
http::Response closedCaller(const Status& why, http::Response r) {
  if (why.detail() == kTicketClosedDetail && !r.body.empty() && r.body.back() == '}') {
    r.body.pop_back();
    r.body += R"(,"reason":"ticket_closed"})";
  }
  return r;
}

}  // namespace

struct Issuer::Judged {
  Caller caller;
  tickets::Ticket ticket;
  std::shared_ptr<const policies::PolicySet> policies;  // the set the decision used
  policies::Decision decision;
  core::TimePoint now;
};

Issuer::Issuer(IssuerDeps deps) : d_(std::move(deps)) {
  d_.metrics.declareCounter("jitbroker_issuances_total", "Credentials issued, by kind and grant.");
  d_.metrics.declareCounter("jitbroker_denials_total", "Requests denied, by failed rule.");
  d_.metrics.declareCounter("jitbroker_lookups_refused_total",
                            "Issuances refused with 503 before their ticket lookup: every lookup "
                            "thread busy, or the caller at its limit.");
}

std::optional<Issuer::Answer> Issuer::judge(const Caller& caller, const std::string& ticket_id,
                                            const policies::IssueRequest& request, bool oauth,
                                            Judged& out) {
  out.caller = caller;
  out.now = d_.clock.now();
  // `basis`: the decision's basis as JSON text (Decision::basisText), naming the failed rule;
  // `shown`, when set, the basis the caller sees instead.
  auto deny = [&](const std::string& rule, const std::string& message, std::string_view oauth_error,
                  bool closed, std::string basis, const std::string& shown = "") {
    d_.metrics.add("jitbroker_denials_total", {{"rule", rule}});
    http::Response r = oauth ? oauthError(400, oauth_error, message)
                             : http::errorResponse({Code::kPermissionDenied, message});
    r.rule = rule;
    // docs/api.md#errors: the basis is returned on denial. The body is a serialized JSON object:
    // its closing brace gives way to the extra members.
    r.body.pop_back();
    if (closed) r.body += R"(,"reason":"ticket_closed")";
    r.body += ",\"basis\":" + (shown.empty() ? basis : shown) + "}";
    audit::Record denied{"decision.denied",
                         {{"ticket", ticket_id}, {"subject", caller.subject}, {"issuer", caller.issuer}},
                         {{"basis", std::move(basis)}}};
    return Answer(std::move(r), std::move(denied));
  };
  // Denials before any policy is consulted: their basis is the failed rule alone.
  auto ruleOnly = [](std::string_view rule) {
    return "{\"failed_rule\":" + json::serialize(json::string_view(rule)) + "}";
  };

  auto t = d_.tickets.lookup(ticket_id);
  // The source's record cannot be read as a ticket: a denial like any other, audited.
  if (t.status().code() == Code::kPermissionDenied)
    return deny("ticket.unreadable", t.status().message(), "invalid_grant", false,
                ruleOnly("ticket.unreadable"));
  if (!t.ok()) return http::errorResponse(t.status());
  if (!t->has_value())
    return deny("ticket.unknown", "ticket " + ticket_id + " is not known to the broker",
                "invalid_grant", false, ruleOnly("ticket.unknown"));
  out.ticket = **t;
  out.policies = d_.policies.get();
  if (!out.policies) return http::errorResponse(core::unavailable("no policies are loaded"));
  policies::CallerFacts cf{caller.issuer, caller.subject, caller.claims};
  out.decision = policies::evaluate(*out.policies, cf, ticketFacts(out.ticket), request, out.now);
  const policies::Decision& dec = out.decision;
  // A caller who is not a subject of the ticket learns only that: not its state, window or
  // approvers (the audit record keeps the whole basis).
  if (dec.failed_rule == "caller.subject")
    return deny(dec.failed_rule,
                "denied by rule caller.subject: the caller is not a subject of ticket " + ticket_id,
                "invalid_grant", false, dec.basisText(), ruleOnly(dec.failed_rule));
  if (!dec.allowed) {
    // A std::string: the conditional makes a temporary a string_view would outlive.
    std::string err = dec.oauth_error.empty() ? "invalid_grant" : dec.oauth_error;
    return deny(dec.failed_rule, dec.message, err, dec.ticket_closed, dec.basisText());
  }
  return std::nullopt;
}

struct Issuer::Commit {
  explicit Commit(http::Responder r) : respond(std::move(r)) {}
  std::string lease_id, ticket, subject, grant;
  store::LeaseKind kind = store::LeaseKind::kToken;
  bool oauth = false;
  http::Response issued;
  http::Responder respond;
  // Both results are written before the decrement that finds the other one done.
  core::Status lease, audit;
  std::atomic<int> pending{2};
};

void Issuer::commit(const Judged& j, store::LeaseRow lease, bool oauth, http::Response issued,
                    const http::Responder& respond) {
  auto c = std::make_shared<Commit>(respond);
  c->lease_id = lease.id;
  c->ticket = lease.ticket;
  c->subject = lease.subject;
  c->grant = lease.grant;
  c->kind = lease.kind;
  c->oauth = oauth;
  c->issued = std::move(issued);
  std::vector<audit::Record> records;
  records.push_back({"decision.allowed",
                     {{"ticket", lease.ticket}, {"subject", lease.subject}},
                     {{"basis", j.decision.basisText()}}});
  for (audit::Record& r : leases::issuanceRecords(lease)) records.push_back(std::move(r));
  // The audit's write and the lease's commit overlap, and no thread waits for either: the
  // later of the two completions answers. The records count once written (the sync follows):
  // after a power loss the store restores them (leases::restoreIssuanceRecords). If the lease
  // is not recorded, the audit says so right after its lease.issued, so the log never shows
  // less than happened.
  d_.audit.appendAllThen(
      std::move(records),
      [this, c](Status st) {
        c->audit = std::move(st);
        committed(c);
      },
      audit::AuditSink::Durability::kWritten);
  // The insert re-reads the ticket: if it is not the one judged, or the policies were
  // reloaded meanwhile, the same decision judges the lease again before it is handed out.
  leases::InsertCheck check = insertCheck(d_.policies, d_.clock, j.ticket, j.policies, lease);
  d_.leases.recordAsync(
      std::move(lease),
      [this, c](Status st) {
        c->lease = std::move(st);
        committed(c);
      },
      [c](std::function<void()> fn) { c->respond.offload(std::move(fn)); }, std::move(check));
}

void Issuer::committed(const std::shared_ptr<Commit>& c) {
  if (c->pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (c->lease.ok() && c->audit.ok()) {
    d_.metrics.add("jitbroker_issuances_total",
                   {{"kind", store::toString(c->kind)}, {"grant", c->grant}});
    return c->respond(std::move(c->issued));
  }
  // On a writer thread: the refusal writes to the store and the audit log, so not here.
  c->respond.offload([this, c] { c->respond(refused(*c)); });
}

http::Response Issuer::refused(const Commit& c) {
  const Status& st = c.lease;
  if (!st.ok()) {
    (void)d_.audit.append("lease.aborted",
                          {{"lease", c.lease_id}, {"ticket", c.ticket}, {"message", st.message()}});
    if (st.code() == Code::kResourceExhausted) {
      (void)d_.audit.append("lease.quota_exceeded", {{"ticket", c.ticket},
                                                     {"subject", c.subject},
                                                     {"grant", c.grant},
                                                     {"message", st.message()}});
      return c.oauth ? oauthError(429, "too_many_requests", st.message()) : http::errorResponse(st);
    }
    // Nothing is returned without a durable lease.
    return http::errorResponse(st.code() == Code::kUnavailable
                                   ? st
                                   : core::unavailable("the lease could not be recorded"));
  }
  // An issuance the auditor cannot see is not handed out: its lease ends at once.
  (void)d_.leases.revokeLease(c.lease_id, "audit_failed");
  return http::errorResponse(core::unavailable("the issuance could not be audited; try again"));
}

core::StatusOr<Caller> Issuer::identify(const http::Request& req, std::string_view jwt) {
  if (!jwt.empty()) return d_.callers.verify(jwt, d_.clock.now());
  if (d_.peers && !req.peer_cert_der.empty())
    return d_.peers->authenticate(req.peer_cert_der, d_.clock.now());
  return Status(Code::kUnauthenticated, "no caller identity: present a JWT or a client certificate");
}

void Issuer::answer(Answer a, const http::Responder& respond) {
  if (!a.record) return respond(std::move(a.response));
  std::vector<audit::Record> one;
  one.push_back(std::move(*a.record));
  // Sent once the audit record is durable, whatever became of it: the refusal stands.
  d_.audit.appendAllThen(std::move(one), [respond, r = std::move(a.response)](Status) mutable {
    respond(std::move(r));
  });
}

std::optional<Issuer::Answer> Issuer::onHandlerThread(Entry entry, http::Request& req,
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
  return http::errorResponse(core::unavailable(
      "too many ticket lookups are under way; try again shortly"));
}

std::optional<Issuer::Answer> Issuer::admitLookup(const Caller& caller,
                                                 std::optional<LookupGate::Permit>& permit) {
  if (!d_.lookups) return std::nullopt;
  LookupGate::Refusal why{};
  if (auto p = d_.lookups->admit(caller.issuer + '\n' + caller.subject, &why)) {
    permit.emplace(std::move(*p));
    return std::nullopt;
  }
  bool rate = why == LookupGate::Refusal::kRate;
  d_.metrics.add("jitbroker_lookups_refused_total", {{"reason", rate ? "per_caller_rate" : "per_caller"}});
  return http::errorResponse(core::unavailable(
      rate ? "this caller asks for tickets that must be read from their source too often; try again shortly"
           : "this caller has too many ticket lookups under way; try again shortly"));
}

void Issuer::exchangeToken(http::Request& req, const http::Responder& respond,
                           bool on_handler_thread) {
  if (auto now = tokenExchange(req, respond, on_handler_thread)) answer(std::move(*now), respond);
}

void Issuer::issueCertificate(http::Request& req, const http::Responder& respond,
                              bool on_handler_thread) {
  if (auto now = certificate(req, respond, on_handler_thread)) answer(std::move(*now), respond);
}

std::optional<Issuer::Answer> Issuer::tokenExchange(http::Request& req,
                                                   const http::Responder& respond,
                                                   bool on_handler_thread) {
  if (!http::hasContentType(req, "application/x-www-form-urlencoded"))
    return oauthError(415, "invalid_request", "the body must be application/x-www-form-urlencoded");
  auto form = http::parseForm(req.body);
  if (!form.ok()) return oauthError(400, "invalid_request", form.status().message());
  auto& f = *form;
  if (f["grant_type"] != kTokenExchange)
    return oauthError(400, "unsupported_grant_type",
                      "grant_type must be " + std::string(kTokenExchange));
  // Without a subject_token the client certificate is the subject (a service account that
  // holds one of our certificates).
  bool mtls = f["subject_token"].empty() && !req.peer_cert_der.empty() && d_.peers;
  if (f["subject_token"].empty() && !mtls)
    return oauthError(400, "invalid_request", "subject_token is required");
  if (!mtls && f["subject_token_type"] != kJwtType && f["subject_token_type"] != kIdTokenType)
    return oauthError(400, "invalid_request",
                      "subject_token_type must be " + std::string(kJwtType));
  if (f["ticket"].empty()) return oauthError(400, "invalid_request", "ticket is required");
  policies::IssueRequest ir;
  ir.kind = policies::CredentialKind::kToken;
  ir.grant = f["grant"];
  ir.audience = f["audience"];
  ir.scopes = splitScopes(f["scope"]);
  if (!f["ttl"].empty()) {
    ir.ttl = parseTtl(f["ttl"]);
    if (!ir.ttl) return oauthError(400, "invalid_request", "ttl must be a positive whole number of seconds");
  }
  if (!on_handler_thread &&
      (d_.callers.mayBlock(f["subject_token"]) || d_.tickets.mayBlock(f["ticket"])))
    return onHandlerThread(&Issuer::exchangeToken, req, respond);
  auto caller = identify(req, f["subject_token"]);
  // RFC 8693 §2.2.2: an unacceptable subject_token is invalid_request.
  if (!caller.ok()) {
    http::Response r = oauthError(
        400, "invalid_request",
        (mtls ? "client certificate: " : "subject_token: ") + caller.status().message());
    return closedCaller(caller.status(), std::move(r));
  }
  req.body.clear();  // the caller's token is not needed any longer
  std::optional<LookupGate::Permit> permit;  // held while the ticket is looked up
  if (on_handler_thread)
    if (auto busy = admitLookup(*caller, permit)) return busy;
  Judged j;
  if (auto denied = judge(*caller, f["ticket"], ir, true, j)) {
    denied->response.subject = caller->subject;
    return denied;
  }
  const policies::Decision& dec = j.decision;
  std::string jti = core::timeOrderedHex(j.now, 10);  // 32 hex digits, 80 of their bits random
  core::TimePoint exp = j.now + dec.ttl;
  std::string scope;
  for (const auto& s : dec.scopes) scope += (scope.empty() ? "" : " ") + s;
  json::object claims{{"iss", d_.issuer_url}, {"sub", j.caller.subject},
                      {"aud", dec.audience},  {"exp", seconds(exp)},
                      {"iat", seconds(j.now)}, {"nbf", seconds(j.now)},
                      {"jti", jti},           {"scope", scope},
                      {"ticket", j.ticket.id}, {"grant", dec.grant}};
  auto token = d_.tokens.sign(claims);
  if (!token.ok()) return http::errorResponse(token.status());

  store::LeaseRow lease;
  lease.id = leases::newLeaseId(j.now);
  lease.kind = store::LeaseKind::kToken;
  lease.ticket = j.ticket.id;
  lease.grant = dec.grant;
  lease.subject = j.caller.subject;
  lease.caller_issuer = j.caller.issuer;
  lease.caller_claims = json::serialize(j.caller.claims);
  lease.issued_at = millis(j.now);
  lease.expires_at = millis(exp);
  lease.jti = jti;
  lease.claims = json::serialize(claims);
  lease.review = dec.break_glass;

  http::Response r = http::jsonResponse(
      200, {{"access_token", *token},
            {"issued_token_type", kJwtType},
            {"token_type", "Bearer"},
            {"expires_in", dec.ttl.count()},
            {"scope", scope},
            {"lease_id", lease.id}});
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  r.subject = j.caller.subject;
  commit(j, std::move(lease), true, std::move(r), respond);
  return std::nullopt;
}

std::optional<Issuer::Answer> Issuer::certificate(http::Request& req,
                                                 const http::Responder& respond,
                                                 bool on_handler_thread) {
  if (!on_handler_thread && d_.callers.mayBlock(http::bearerToken(req)))
    return onHandlerThread(&Issuer::issueCertificate, req, respond);
  auto caller = identify(req, http::bearerToken(req));
  if (!caller.ok())
    return closedCaller(caller.status(),
                        http::errorResponse({Code::kUnauthenticated, caller.status().message()}));
  auto body = api::jsonObjectBody(req);
  if (!body.ok()) return http::errorResponse(body.status());
  auto field = [&](const char* k) -> std::optional<std::string> {
    auto* v = body->if_contains(k);
    if (!v) return std::string();
    if (!v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  auto ticket = field("ticket"), csr = field("csr"), grant = field("grant"),
       key_type = field("key_type");
  if (!ticket || !csr || !grant || !key_type)
    return http::errorResponse(core::invalidArgument("ticket, csr, grant and key_type must be strings"));
  if (ticket->empty()) return http::errorResponse(core::invalidArgument("ticket is required"));
  if (!on_handler_thread && d_.tickets.mayBlock(*ticket))
    return onHandlerThread(&Issuer::issueCertificate, req, respond);
  bool server_key = *key_type == "server";
  if (csr->empty() && !server_key)
    return http::errorResponse(
        core::invalidArgument("csr is required (or \"key_type\": \"server\" for a broker-made key)"));
  policies::IssueRequest ir;
  ir.kind = policies::CredentialKind::kCertificate;
  ir.grant = *grant;
  if (auto* ttl = body->if_contains("ttl")) {
    if (!ttl->is_int64() || ttl->as_int64() <= 0)
      return http::errorResponse(core::invalidArgument("ttl must be a positive whole number of seconds"));
    ir.ttl = std::chrono::seconds(ttl->as_int64());
  }
  if (!d_.certificates)
    return http::errorResponse(core::unavailable("certificate issuance is not configured"));
  std::optional<LookupGate::Permit> permit;  // held while the ticket is looked up
  if (on_handler_thread)
    if (auto busy = admitLookup(*caller, permit)) return busy;
  Judged j;
  if (auto denied = judge(*caller, *ticket, ir, false, j)) {
    denied->response.subject = caller->subject;
    return denied;
  }
  const policies::Decision& dec = j.decision;
  CertRequest cr;
  cr.csr = server_key ? std::string() : *csr;
  cr.profile = dec.cert_profile;
  // The subject as CN when it fits (64 characters, RFC 5280 ub-common-name); SPIFFE
  // identities live in the URI SAN alone.
  if (dec.cert_profile != policies::CertProfile::kSpiffe && j.caller.subject.size() <= 64)
    cr.common_name = j.caller.subject;
  cr.uri_sans = dec.uri_sans;
  cr.dns_sans = dec.dns_sans;
  cr.not_after = j.now + dec.ttl;
  auto cert = d_.certificates->issue(cr, j.now);
  if (!cert.ok()) {
    return Answer(http::errorResponse(cert.status()),
                  {"certificate.refused", {{"ticket", j.ticket.id},
                                           {"subject", j.caller.subject},
                                           {"message", cert.status().message()}}});
  }
  store::LeaseRow lease;
  lease.id = leases::newLeaseId(j.now);
  lease.kind = store::LeaseKind::kCertificate;
  lease.ticket = j.ticket.id;
  lease.grant = dec.grant;
  lease.subject = j.caller.subject;
  lease.caller_issuer = j.caller.issuer;
  lease.caller_claims = json::serialize(j.caller.claims);
  lease.issued_at = millis(j.now);
  lease.expires_at = millis(cert->not_after);
  lease.serial = cert->serial_hex;
  lease.review = dec.break_glass;

  json::object o{
      {"certificate", cert->certificate_pem},
      {"ca_chain", toArray(cert->chain_pem)},
      {"serial", cert->serial_hex},
      {"not_after", core::formatRfc3339(cert->not_after)},
      {"expires_in", std::chrono::ceil<std::chrono::seconds>(cert->not_after - j.now).count()},
      {"lease_id", lease.id}};
  if (server_key) o["private_key"] = cert->private_key_pem;
  http::Response r = http::jsonResponse(201, o);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.subject = j.caller.subject;
  commit(j, std::move(lease), false, std::move(r), respond);
  return std::nullopt;
}

http::Response Issuer::introspect(http::Request& req) {
  if (!http::hasContentType(req, "application/x-www-form-urlencoded"))
    return http::errorResponse({Code::kUnsupportedMedia, "the body must be application/x-www-form-urlencoded"});
  auto form = http::parseForm(req.body);
  if (!form.ok()) return http::errorResponse(form.status());
  if ((*form)["token"].empty()) return http::errorResponse(core::invalidArgument("token is required"));
  const http::Response inactive = http::jsonResponse(200, {{"active", false}});
  auto claims = d_.tokens.verify((*form)["token"]);
  if (!claims.ok()) return inactive;
  auto* jti = claims->if_contains("jti");
  if (!jti || !jti->is_string()) return inactive;
  auto lease = d_.store.findLeaseByJti(std::string(jti->as_string()));
  if (!lease.ok()) return http::errorResponse(lease.status());
  if (!lease->has_value()) return inactive;
  const store::LeaseRow& l = **lease;
  // The lease is the truth; its expiry is checked here too so that the answer never lags the
  // expiry timer.
  if (l.state != store::LeaseState::kActive || millis(d_.clock.now()) >= l.expires_at)
    return inactive;
  json::object out = *claims;
  out["active"] = true;
  out["token_type"] = "Bearer";
  out["lease_id"] = l.id;
  return http::jsonResponse(200, out);
}

http::Response Issuer::revoke(http::Request& req) {
  if (!http::hasContentType(req, "application/x-www-form-urlencoded"))
    return http::errorResponse({Code::kUnsupportedMedia, "the body must be application/x-www-form-urlencoded"});
  auto form = http::parseForm(req.body);
  if (!form.ok()) return http::errorResponse(form.status());
  if ((*form)["token"].empty()) return http::errorResponse(core::invalidArgument("token is required"));
  const http::Response ok = http::jsonResponse(200, json::object{});
  // RFC 7009 §2.2: unknown or invalid tokens get 200 too; holding a valid token is enough.
  auto claims = d_.tokens.verify((*form)["token"]);
  if (!claims.ok()) return ok;
  auto* jti = claims->if_contains("jti");
  if (!jti || !jti->is_string()) return ok;
  auto lease = d_.store.findLeaseByJti(std::string(jti->as_string()));
  if (!lease.ok()) return http::errorResponse(lease.status());
  if (!lease->has_value()) return ok;
  auto changed = d_.leases.revokeLease((*lease)->id, "holder_revoked");
  if (!changed.ok()) return http::errorResponse(changed.status());
  return ok;
}

void addIssuingRoutes(http::Router& router, Issuer& issuer, const api::AdminAuth& admin) {
  router.addAsync("POST", "/v1/token", [&issuer](http::Request& r, const http::Responder& res) {
    issuer.exchangeToken(r, res);
  });
  router.addAsync("POST", "/v1/certificates",
                  [&issuer](http::Request& r, const http::Responder& res) {
                    issuer.issueCertificate(r, res);
                  });
  // Introspection verifies a signature and reads the store: on the I/O thread.
  router.addInline("POST", "/v1/introspect", [&issuer, &admin](http::Request& r) {
    if (auto denied = admin.check(r)) return *denied;
    return issuer.introspect(r);
  });
  router.add("POST", "/v1/revoke", [&issuer](http::Request& r) { return issuer.revoke(r); });
}

}  // namespace jitb::issuing
