// Evaluation: a pure function of (policies, verified caller, ticket, request, now) -> Decision.
// Denied by default; every rule looked at is recorded in the basis for the audit log.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "policies/engine/grant.h"
#include "policies/engine/policy_set.h"

namespace jitb::policies {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// The normalised ticket (docs/tickets.md) as the broker has stored it.
struct TicketFacts {
  std::string id, state, kind, requested_by;
  std::vector<std::string> approved_by, subjects, access;
  TimePoint window_start, window_end;
  // The source's immutable ids of the people (ServiceNow sys_id, Jira accountId), which a
  // renamed display name or e-mail address cannot change; "" where unknown. approved_by_ids is
  // empty or holds one entry per approved_by entry, in the same order.
  std::string requested_by_id;
  std::vector<std::string> approved_by_ids;
};

// The caller, already authenticated by the broker (JWT signature, trust entry, exp checked).
struct CallerFacts {
  std::string issuer, subject;
  boost::json::object claims;
};

// kAcmeAccount: an ACME external account binding, judged like a certificate (the grant's
// certificate section, its dns_sans and max_ttl) since certificates are what it leads to.
enum class CredentialKind { kToken, kCertificate, kSsh, kDatabase, kAcmeAccount };

// What a denial refuses, for whoever must name it on the wire (the OAuth adapter maps these to
// invalid_grant, invalid_scope, invalid_target and invalid_request).
enum class DenialKind {
  kGrant,    // the ticket, the caller or the grant does not allow it
  kScope,    // a requested scope is outside the grant
  kTarget,   // the requested audience is outside the grant
  kRequest,  // the request itself is malformed (a ttl below one second)
};

struct IssueRequest {
  CredentialKind kind = CredentialKind::kToken;
  std::string grant;                        // "" = first grant in ticket.access order that allows
  std::string audience;                     // tokens: "" = the grant's audience
  std::vector<std::string> scopes;          // tokens: empty = all of the grant's scopes
  std::optional<std::chrono::seconds> ttl;  // absent = as long as the grant and window allow
};

struct RuleOutcome {
  std::string rule;  // e.g. "ticket.window"
  bool passed = false;
  std::string detail;  // one sentence; never key or token material
  std::string grant;   // the grant the rule was checked for; "" for ticket-level rules
};

struct Decision {
  bool allowed = false;
  // The grant decided on (when one was examined) and its policy file's name in the folder.
  std::string grant, policy_file;
  // Stable machine name of the rule that denied, "" when allowed. One of:
  // ticket.state ticket.window caller.subject grant.access grant.unknown subject.issuer
  // subject.claims ticket.kind ticket.separation_of_duties ticket.min_approvals credential.kind
  // request.audience request.scope request.ttl san.substitution
  // ssh.principals
  std::string failed_rule;
  std::string message;  // a sentence naming the rule; safe to show to the caller
  DenialKind denial_kind = DenialKind::kGrant;  // denials: what was refused
  bool ticket_closed =
      false;  // closed/canceled/rejected or window over: add "reason":"ticket_closed"
  bool break_glass = false;  // allowed through a break-glass grant on an emergency ticket: flag it
  // Every rule evaluated, in order. When no grant was named, the rules of candidates tried
  // before the chosen one stay here with their failures: `allowed` is what decides.
  std::vector<RuleOutcome> basis;

  // When allowed: the exact issuance profile the signer must use, nothing more.
  std::string audience;             // tokens
  std::vector<std::string> scopes;  // tokens, in the grant's order
  std::chrono::seconds ttl{0};
  CertProfile cert_profile = CertProfile::kClient;  // certificates
  std::vector<std::string> uri_sans, dns_sans;      // certificates, after substitution
  std::vector<std::string> ssh_principals;          // ssh, after substitution; never empty
  std::vector<std::string> ssh_extensions;          // ssh
  std::string ssh_force_command, ssh_source_address;  // ssh; "" = none
  std::string database;                             // database: the `databases:` entry
  std::vector<std::string> database_roles;          // database: the group roles

  // {"policy_file","grant","allowed","failed_rule","break_glass","rules":[{"rule","passed",
  // "detail"[,"grant"]}]} as JSON text, for the audit log and the denial body. Text, not an
  // object: it is about 2 KB a token, and building it as an object to serialize it took 4%
  // of a token's CPU.
  std::string basisText() const;
};

// Pure and deterministic: no clock, no I/O, no globals; the same inputs give the same Decision
// (basis included). Thread-safe for concurrent calls on the same PolicySet.
Decision evaluate(const PolicySet& policies, const CallerFacts& caller, const TicketFacts& ticket,
                  const IssueRequest& request, TimePoint now);

}  // namespace jitb::policies
