#include "broker/issuing/service.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>

#include "broker/audit/record_text.h"
#include "broker/issuing/database_minter.h"
#include "broker/issuing/lease_review.h"
#include "broker/leases/issuance_records.h"
#include "broker/leases/lease_id.h"

namespace jitb::issuing {

namespace json = boost::json;
using core::Code;
using core::Status;

namespace {

// Denials before any policy is consulted show only the failed rule as their basis.
json::object ruleOnly(std::string_view rule) { return {{"failed_rule", rule}}; }

}  // namespace

struct IssuanceService::Judged {
  tickets::Ticket ticket;
  std::shared_ptr<const policies::PolicySet> policies;  // the set the decision used
  policies::Decision decision;
  core::TimePoint now;
};

struct IssuanceService::Commit {
  Commit(Completion d, core::Offload o) : done(std::move(d)), offload(std::move(o)) {}
  std::string lease_id, ticket, subject, grant;
  Issued issued;
  Completion done;
  core::Offload offload;
  // Both results are written before the decrement that finds the other one done.
  Status lease, audit;
  std::atomic<int> pending{2};
  CredentialMinter* activator = nullptr;
  store::LeaseRow row;  // for the activator
};

IssuanceService::IssuanceService(ServiceDeps deps) : d_(std::move(deps)) {
  d_.metrics.declareCounter("jitbroker_issuances_total", "Credentials issued, by kind and grant.");
  d_.metrics.declareCounter("jitbroker_denials_total", "Requests denied, by failed rule.");
}

CredentialMinter* IssuanceService::minterFor(policies::CredentialKind kind) const {
  for (auto* m : minters_)
    if (m->kind() == kind) return m;
  return nullptr;
}

void IssuanceService::addMinter(CredentialMinter& minter) {
  if (CredentialMinter* m = minterFor(minter.kind()))
    std::replace(minters_.begin(), minters_.end(), m, &minter);
  else
    minters_.push_back(&minter);
}

bool IssuanceService::canIssue(policies::CredentialKind kind) const {
  return minterFor(kind) != nullptr;
}

core::StatusOr<Caller> IssuanceService::identify(std::string_view jwt,
                                                 std::string_view peer_cert_der) {
  if (!jwt.empty()) return d_.callers.verify(jwt, d_.clock.now());
  if (d_.peers && !peer_cert_der.empty()) return d_.peers->authenticate(peer_cert_der, d_.clock.now());
  return Status(Code::kUnauthenticated, "no caller identity: present a JWT or a client certificate");
}

std::optional<std::variant<Denial, Status>> IssuanceService::judge(const IssueRequest& req,
                                                                   Judged& out) {
  out.now = d_.clock.now();
  auto denial = [](std::string rule, std::string message, json::value shown, std::string basis) {
    Denial d;
    d.rule = std::move(rule);
    d.message = std::move(message);
    d.basis = std::move(shown);
    d.audit_basis = std::move(basis);
    return d;
  };
  auto t = d_.tickets.lookup(req.ticket);
  // The source's record cannot be read as a ticket: a denial like any other, audited.
  if (t.status().code() == Code::kPermissionDenied) {
    json::object basis = ruleOnly("ticket.unreadable");
    return denial("ticket.unreadable", t.status().message(), basis, json::serialize(basis));
  }
  if (!t.ok()) return t.status();
  if (!t->has_value()) {
    json::object basis = ruleOnly("ticket.unknown");
    return denial("ticket.unknown", "ticket " + req.ticket + " is not known to the broker", basis,
                  json::serialize(basis));
  }
  out.ticket = **t;
  out.policies = d_.policies.get();
  if (!out.policies) return core::unavailable("no policies are loaded");
  policies::CallerFacts cf{req.caller.issuer, req.caller.subject, req.caller.claims};
  policies::IssueRequest ir{req.kind, req.grant, req.audience, req.scopes, req.ttl};
  out.decision = policies::evaluate(*out.policies, cf, ticketFacts(out.ticket), ir, out.now);
  const policies::Decision& dec = out.decision;
  // A caller who is not a subject of the ticket learns only that: not its state, window or
  // approvers (the audit record keeps the whole basis).
  if (dec.failed_rule == "caller.subject")
    return denial(dec.failed_rule,
                  "denied by rule caller.subject: the caller is not a subject of ticket " + req.ticket,
                  ruleOnly(dec.failed_rule), dec.basisText());
  if (!dec.allowed) {
    std::string basis = dec.basisText();
    Denial d = denial(dec.failed_rule, dec.message, json::parse(basis), basis);
    d.reason = dec.denial_kind;
    d.ticket_closed = dec.ticket_closed;
    return d;
  }
  return std::nullopt;
}

void IssuanceService::deny(Denial denial, const std::string& ticket, const Caller& caller,
                           Completion done) {
  d_.metrics.add("jitbroker_denials_total", {{"rule", denial.rule}});
  denial.subject = caller.subject;
  std::vector<audit::Record> one;
  one.push_back({"decision.denied",
                 {{"ticket", ticket}, {"subject", caller.subject}, {"issuer", caller.issuer}},
                 {{"basis", denial.audit_basis}}});
  // Sent once the audit record is durable, whatever became of it: the refusal stands.
  d_.audit.appendAllThen(std::move(one), [done = std::move(done), d = std::move(denial)](Status) mutable {
    done(std::move(d));
  });
}

void IssuanceService::issue(IssueRequest req, Completion done, core::Offload offload) {
  if (available_)
    if (core::Status st = available_(); !st.ok()) return done(st);
  CredentialMinter* minter = minterFor(req.kind);
  if (!minter)
    return done(core::unavailable(req.kind == policies::CredentialKind::kCertificate
                                      ? "certificate issuance is not configured"
                                  : req.kind == policies::CredentialKind::kSsh
                                      ? "SSH certificate issuance is not configured"
                                  : req.kind == policies::CredentialKind::kDatabase
                                      ? "database credentials are not configured"
                                      : "token issuance is not configured"));
  Judged j;
  if (auto refused = judge(req, j)) {
    if (auto* d = std::get_if<Denial>(&*refused))
      return deny(std::move(*d), req.ticket, req.caller, std::move(done));
    return done(std::get<Status>(std::move(*refused)));
  }
  const std::string lease_id = leases::newLeaseId(j.now);
  auto minted = minter->mint({req, j.ticket, j.decision, j.now, lease_id});
  if (auto* no = std::get_if<MintRefusal>(&minted)) {
    if (!no->record) return done(no->status);
    std::vector<audit::Record> one;
    one.push_back(std::move(*no->record));
    return d_.audit.appendAllThen(std::move(one),
                                  [done = std::move(done), st = no->status](Status) { done(st); });
  }
  Minted& m = std::get<Minted>(minted);
  store::LeaseRow& lease = m.lease;
  lease.id = lease_id;
  lease.ticket = j.ticket.id;
  lease.grant = j.decision.grant;
  lease.subject = req.caller.subject;
  lease.caller_issuer = req.caller.issuer;
  lease.caller_claims = json::serialize(req.caller.claims);
  lease.issued_at = core::unixMillis(j.now);
  lease.review = j.decision.break_glass;
  Issued issued{lease.id, req.caller.subject, lease.kind, std::move(m.fields)};
  commit(j, std::move(lease), std::move(issued), std::move(done), std::move(offload),
         minter->activates() ? minter : nullptr);
}

void IssuanceService::commit(const Judged& j, store::LeaseRow lease, Issued issued,
                             Completion done, core::Offload offload,
                             CredentialMinter* activator) {
  auto c = std::make_shared<Commit>(std::move(done), std::move(offload));
  c->activator = activator;
  if (activator) c->row = lease;
  c->lease_id = lease.id;
  c->ticket = lease.ticket;
  c->subject = lease.subject;
  c->grant = lease.grant;
  c->issued = std::move(issued);
  std::vector<audit::Record> records;
  records.push_back({"decision.allowed",
                     {{"ticket", lease.ticket}, {"subject", lease.subject}},
                     {{"basis", j.decision.basisText()}}});
  for (audit::Record& r : leases::issuanceRecords(lease)) records.push_back(std::move(r));
  // The insert re-reads the ticket: if it is not the one judged, or the policies were
  // reloaded meanwhile, the same decision judges the lease again before it is handed out.
  leases::InsertCheck check = insertCheck(d_.policies, d_.clock, j.ticket, j.policies, lease);
  auto recorded = [this, c](Status st) {
    c->lease = std::move(st);
    committed(c);
  };
  auto offload_to = [c](std::function<void()> fn) { c->offload(std::move(fn)); };
  if (d_.store.auditsInTransaction()) {
    // The store keeps the audit log: the records commit in the lease's transaction, so there
    // is one completion, and no lease without its records nor records without their lease.
    std::vector<std::string> bodies;
    const core::TimePoint now = d_.clock.now();
    for (const audit::Record& r : records) bodies.push_back(audit::recordBody(r, now));
    c->pending.store(1, std::memory_order_relaxed);
    return d_.leases.recordAuditedAsync(std::move(lease), std::move(bodies), std::move(recorded),
                                        std::move(offload_to), std::move(check));
  }
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
  d_.leases.recordAsync(std::move(lease), std::move(recorded), std::move(offload_to),
                        std::move(check));
}

void IssuanceService::committed(const std::shared_ptr<Commit>& c) {
  if (c->pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (c->lease.ok() && c->audit.ok()) {
    if (c->activator) return c->offload([this, c] { activate(c); });
    d_.metrics.add("jitbroker_issuances_total",
                   {{"kind", store::toString(c->issued.kind)}, {"grant", c->grant}});
    return c->done(std::move(c->issued));
  }
  // On a writer thread: the refusal writes to the store and the audit log, so not here.
  c->offload([this, c] { c->done(refused(*c)); });
}

void IssuanceService::activate(const std::shared_ptr<Commit>& c) {
  Status st = c->activator->activate(c->row, c->issued.fields);
  if (!st.ok()) {
    // Nothing was handed out: the lease ends, and its revocation job removes whatever part of
    // the credential was made.
    (void)d_.leases.revokeLease(c->lease_id, "downstream_failed");
    (void)d_.audit.append("lease.activation_failed",
                          {{"lease", c->lease_id}, {"ticket", c->ticket}, {"message", st.message()}});
    return c->done(st.code() == Code::kUnavailable ? st : core::unavailable(st.message()));
  }
  d_.metrics.add("jitbroker_issuances_total",
                 {{"kind", store::toString(c->issued.kind)}, {"grant", c->grant}});
  c->done(std::move(c->issued));
}

Status IssuanceService::refused(const Commit& c) {
  const Status& st = c.lease;
  if (!st.ok()) {
    (void)d_.audit.append("lease.aborted",
                          {{"lease", c.lease_id}, {"ticket", c.ticket}, {"message", st.message()}});
    if (st.code() == Code::kResourceExhausted) {
      (void)d_.audit.append("lease.quota_exceeded", {{"ticket", c.ticket},
                                                     {"subject", c.subject},
                                                     {"grant", c.grant},
                                                     {"message", st.message()}});
      return st;
    }
    // Nothing is returned without a durable lease.
    return st.code() == Code::kUnavailable ? st : core::unavailable("the lease could not be recorded");
  }
  // An issuance the auditor cannot see is not handed out: its lease ends at once.
  (void)d_.leases.revokeLease(c.lease_id, "audit_failed");
  return core::unavailable("the issuance could not be audited; try again");
}

core::StatusOr<std::optional<store::LeaseRow>> IssuanceService::leaseOf(std::string_view token,
                                                                       json::object* claims) {
  auto verified = d_.tokens.verify(token);
  if (!verified.ok()) return std::optional<store::LeaseRow>();
  auto* jti = verified->if_contains("jti");
  if (!jti || !jti->is_string()) return std::optional<store::LeaseRow>();
  if (claims) *claims = std::move(*verified);
  return d_.store.findLeaseByJti(std::string(jti->as_string()));
}

core::StatusOr<std::optional<json::object>> IssuanceService::introspect(std::string_view token) {
  if (available_)
    if (core::Status st = available_(); !st.ok()) return st;
  json::object claims;
  auto lease = leaseOf(token, &claims);
  if (!lease.ok()) return lease.status();
  if (!lease->has_value()) return std::optional<json::object>();
  const store::LeaseRow& l = **lease;
  // The lease is the truth; its expiry is checked here too so that the answer never lags the
  // expiry timer.
  if (l.state != store::LeaseState::kActive || core::unixMillis(d_.clock.now()) >= l.expires_at)
    return std::optional<json::object>();
  claims["active"] = true;
  claims["token_type"] = "Bearer";
  claims["lease_id"] = l.id;
  return std::optional<json::object>(std::move(claims));
}

Status IssuanceService::revokeByToken(std::string_view token) {
  auto lease = leaseOf(token, nullptr);
  if (!lease.ok()) return lease.status();
  // Not a token of this broker: perhaps a database role's password (its lease's jti is a
  // hash of it), which `jitctl db` revokes when its command ends.
  if (!lease->has_value() && token.size() >= 32 && token.find('.') == std::string_view::npos) {
    lease = d_.store.findLeaseByJti(passwordHandle(token));
    if (!lease.ok()) return lease.status();
    if (lease->has_value() && (*lease)->kind != store::LeaseKind::kDatabase) lease->reset();
  }
  if (!lease->has_value()) return core::okStatus();
  auto changed = d_.leases.revokeLease((*lease)->id, "holder_revoked");
  return changed.ok() ? core::okStatus() : changed.status();
}

core::StatusOr<bool> IssuanceService::revokeOwnLease(const Caller& caller,
                                                    const std::string& lease_id) {
  auto lease = d_.store.getLease(lease_id);
  if (!lease.ok()) return lease.status();
  if (!lease->has_value() || (*lease)->subject != caller.subject ||
      (*lease)->caller_issuer != caller.issuer)
    return core::notFound("no lease " + lease_id + " of this caller");
  return d_.leases.revokeLease(lease_id, "holder_revoked");
}

}  // namespace jitb::issuing
