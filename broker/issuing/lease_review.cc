#include "broker/issuing/lease_review.h"

#include <boost/json.hpp>
#include <algorithm>
#include <map>

#include "policies/engine/identity.h"
#include "policies/engine/ticket_state.h"

namespace jitb::issuing {

namespace json = boost::json;

policies::TicketFacts ticketFacts(const tickets::Ticket& t) {
  return {t.id,       t.state,  t.kind,         t.requested_by, t.approved_by,
          t.subjects, t.access, t.window_start, t.window_end, t.requested_by_id,
          t.approved_by_ids};
}

namespace {

json::object parseObject(const std::string& text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

}  // namespace

std::vector<std::string> splitScopes(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

policies::IssueRequest requestOf(const store::LeaseRow& lease) {
  policies::IssueRequest r;
  r.grant = lease.grant;
  if (lease.kind == store::LeaseKind::kCertificate) {
    r.kind = policies::CredentialKind::kCertificate;
    return r;
  }
  if (lease.kind == store::LeaseKind::kSsh) {
    r.kind = policies::CredentialKind::kSsh;
    return r;
  }
  if (lease.kind == store::LeaseKind::kDatabase) {
    r.kind = policies::CredentialKind::kDatabase;
    return r;
  }
  if (lease.kind == store::LeaseKind::kAcmeAccount) {
    r.kind = policies::CredentialKind::kAcmeAccount;
    return r;
  }
  r.kind = policies::CredentialKind::kToken;
  json::object claims = parseObject(lease.claims);
  if (auto* aud = claims.if_contains("aud"); aud && aud->is_string())
    r.audience = std::string(aud->as_string());
  if (auto* scope = claims.if_contains("scope"); scope && scope->is_string())
    r.scopes = splitScopes(scope->as_string());
  return r;
}

policies::CallerFacts callerOf(const store::LeaseRow& lease) {
  return {lease.caller_issuer, lease.subject, parseObject(lease.caller_claims)};
}

namespace {
// Leases recorded before the caller was kept (schema version 0) cannot be judged on the
// caller's issuer or claims: they keep the rules that need no caller, so that an upgrade does
// not end credentials the decision still allows. They end with their ticket as before.
std::string legacyVerdict(const policies::PolicySet& policies, const store::LeaseRow& lease,
                          const tickets::Ticket& t, core::TimePoint now) {
  if (!isUsableState(t.state)) return "ticket.state";
  if (now < t.window_start || now >= t.window_end) return "ticket.window";
  auto who = policies::normaliseIdentity(lease.subject);
  bool subject = false;
  for (const auto& s : t.subjects) subject |= who && policies::normaliseIdentity(s) == who;
  if (!subject) return "caller.subject";
  if (std::find(t.access.begin(), t.access.end(), lease.grant) == t.access.end())
    return "grant.access";
  if (!policies.find(lease.grant)) return "grant.unknown";
  return "";
}
}  // namespace

std::string verdict(const policies::PolicySet& policies, const store::LeaseRow& lease,
                    const tickets::Ticket& ticket, core::TimePoint now) {
  if (lease.caller_issuer.empty()) return legacyVerdict(policies, lease, ticket, now);
  policies::Decision d =
      policies::evaluate(policies, callerOf(lease), ticketFacts(ticket), requestOf(lease), now);
  if (!d.allowed) return d.failed_rule;
  // Allowed, but by another grant of the ticket: the lease's own grant no longer is.
  if (d.grant != lease.grant) return "grant.access";
  return "";
}

leases::InsertCheck insertCheck(const PolicyHolder& policies, const core::Clock& clock,
                                const tickets::Ticket& judged,
                                std::shared_ptr<const policies::PolicySet> judged_under,
                                store::LeaseRow lease) {
  leases::InsertCheck check;
  check.unchanged = [&policies, text = json::serialize(tickets::ticketToJson(judged)),
                     set = std::move(judged_under)](const std::string& stored) {
    return stored == text && policies.get() == set;
  };
  check.rejudge = [&policies, &clock, row = std::move(lease)](const std::string& stored) {
    auto t = tickets::parseStored(stored);
    auto set = policies.get();
    if (!t.ok() || !set) return std::string("ticket.unreadable");
    return verdict(*set, row, *t, clock.now());
  };
  return check;
}

LeaseReviewer::LeaseReviewer(const PolicyHolder& policies, store::Store& store,
                             leases::LeaseManager& leases, const core::Clock& clock)
    : policies_(policies), store_(store), leases_(leases), clock_(clock) {}

core::StatusOr<size_t> LeaseReviewer::reviewTicket(const tickets::Ticket& event,
                                                   const std::string& reason) {
  return review(event.id, &event, reason);
}

core::StatusOr<size_t> LeaseReviewer::review(const std::string& id, const tickets::Ticket* event,
                                             const std::string& reason) {
  // Judged against the ticket as stored now: a later event may already have replaced this one
  // (and its own review judges the leases issued under it). A lease whose ticket cannot be
  // read is allowed by nothing.
  auto row = store_.getTicket(id);
  if (!row.ok()) return row.status();
  auto stored = row->has_value() ? tickets::parseStored((*row)->json)
                : event         ? core::StatusOr<tickets::Ticket>(*event)
                                : core::StatusOr<tickets::Ticket>(core::notFound("no ticket"));
  if (!stored.ok()) return leases_.revokeTicket(id, event ? "ticket_unreadable" : reason);
  const tickets::Ticket& ticket = *stored;
  auto set = policies_.get();
  // No policy in force allows nothing: the leases end like any the decision refuses.
  if (!set) return leases_.revokeTicket(ticket.id, reason);
  const core::TimePoint now = clock_.now();
  // Leases of one ticket mostly share their caller and request: judge each combination once.
  std::map<std::string, std::string> verdicts;
  std::vector<std::string> refused;
  store::LeaseFilter f;
  f.ticket = ticket.id;
  f.state = store::LeaseState::kActive;
  f.limit = 1000;
  core::Status st = store::forEachLease(store_, f, [&](const store::LeaseRow& l) {
    // What the decision reads of a lease (its token's own claims differ in jti and times).
    policies::IssueRequest r = requestOf(l);
    std::string key = l.caller_issuer + '\n' + l.subject + '\n' + l.caller_claims + '\n' +
                      l.grant + '\n' + store::toString(l.kind) + '\n' + r.audience;
    for (const auto& s : r.scopes) key += '\n' + s;
    auto it = verdicts.find(key);
    if (it == verdicts.end()) it = verdicts.emplace(key, verdict(*set, l, ticket, now)).first;
    if (!it->second.empty()) refused.push_back(l.id);
  });
  if (!st.ok()) return st;
  return leases_.revokeLeases(refused, reason);
}

core::StatusOr<size_t> LeaseReviewer::reviewAll(const std::string& reason) {
  auto active = store_.activeTickets();
  if (!active.ok()) return active.status();
  size_t n = 0;
  core::Status first_error;  // every ticket is reviewed even when one fails
  for (const auto& a : *active) {
    auto r = review(a.id, nullptr, reason);
    if (!r.ok()) {
      if (first_error.ok()) first_error = r.status();
      continue;
    }
    n += *r;
  }
  if (!first_error.ok()) return first_error;
  return n;
}

}  // namespace jitb::issuing
