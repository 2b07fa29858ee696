// evaluate(): ticket-level rules, then grant selection, then the chosen grant's rules. Each rule
// appends one RuleOutcome; the first failure decides. Nothing here reads a clock, a file or any
// global, so a decision can be replayed from the audit log.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <ctime>
#include <map>

#include "policies/engine/decision.h"
#include "policies/engine/duration.h"
#include "policies/engine/glob.h"
#include "policies/engine/identity.h"
#include "policies/engine/ticket_state.h"

namespace jitb::policies {

namespace {

using std::chrono::seconds;

// Values from tickets and tokens end up in messages shown to callers and in logs: keep them
// short and printable.
std::string q(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (v.size() > 80) out += "...";
  return "'" + out + "'";
}

std::string rfc3339(TimePoint t) {
  std::time_t tt = Clock::to_time_t(std::chrono::floor<seconds>(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string secs(seconds s) { return std::to_string(s.count()) + "s"; }

// A policy file as the basis names it, to callers and in the audit log: its name in the policy
// folder (which holds no subfolders). The full path, which shows the server's folders, stays
// in the operator's error messages.
std::string fileName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Identities are compared in their normalised form (identity.h): "Alice@Example.com",
// "alice@example.com " and a fullwidth "\uff41lice@example.com" approving a ticket that
// "alice@example.com" requested are all self-approval. A form that cannot be normalised (a
// ticket stored before intake refused such names) equals nothing, and the rules that must rule
// a person out treat it as a failure.
using Normalised = std::optional<std::string>;

std::vector<Normalised> normaliseAll(const std::vector<std::string>& list) {
  std::vector<Normalised> out;
  out.reserve(list.size());
  for (const auto& s : list) out.push_back(normaliseIdentity(s));
  return out;
}

bool sameIdentity(const Normalised& a, const Normalised& b) { return a && b && *a == *b; }

bool containsIdentity(const std::vector<Normalised>& list, const Normalised& who) {
  return std::any_of(list.begin(), list.end(), [&](const auto& x) { return sameIdentity(x, who); });
}

// The approver's immutable id at position i, "" when the source gave none.
std::string_view idAt(const std::vector<std::string>& ids, size_t i) {
  return i < ids.size() ? std::string_view(ids[i]) : std::string_view();
}

// Distinct people among the approvers: two approvals are one person when their normalised
// identities or their (non-empty) immutable ids are equal, transitively, so neither a second
// spelling nor a second name for the same account counts twice. Empty and unusable entries
// count for nobody.
int distinctApprovers(const std::vector<Normalised>& names, const std::vector<std::string>& ids) {
  std::vector<size_t> parent(names.size());
  for (size_t i = 0; i < parent.size(); ++i) parent[i] = i;
  auto root = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  std::map<std::string_view, size_t> by_name, by_id;
  auto join = [&](std::map<std::string_view, size_t>& seen, std::string_view key, size_t i) {
    auto [it, fresh] = seen.emplace(key, i);
    if (!fresh) parent[root(i)] = root(it->second);
  };
  std::vector<bool> counted(names.size(), false);
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i]) continue;
    counted[i] = true;
    join(by_name, *names[i], i);
    if (std::string_view id = idAt(ids, i); !id.empty()) join(by_id, id, i);
  }
  int people = 0;
  for (size_t i = 0; i < names.size(); ++i) people += counted[i] && root(i) == i;
  return people;
}

// A claim's text for glob matching: strings as they are, anything else as its JSON text.
std::string claimText(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return boost::json::serialize(v);
}

bool claimMatches(const boost::json::value& v, std::string_view glob) {
  if (v.is_array()) {
    const auto& arr = v.get_array();
    return std::any_of(arr.begin(), arr.end(),
                       [&](const boost::json::value& e) { return globMatch(glob, claimText(e)); });
  }
  return globMatch(glob, claimText(v));
}

class Evaluator {
 public:
  Evaluator(const PolicySet& set, const CallerFacts& caller, const TicketFacts& ticket,
            const IssueRequest& req, TimePoint now)
      : set_(set),
        caller_(caller),
        ticket_(ticket),
        req_(req),
        now_(now),
        requester_(normaliseIdentity(ticket.requested_by)),
        approvers_(normaliseAll(ticket.approved_by)),
        subjects_(normaliseAll(ticket.subjects)) {}

  Decision run() {
    Decision d;
    if (!checkTicket(d)) return d;
    if (!req_.grant.empty()) return runNamed(std::move(d));
    return runAuto(std::move(d));
  }

 private:
  // Appends the outcome; on failure also makes it the decision's denial (first failure wins).
  bool rule(Decision& d, const std::string& grant, const char* name, bool passed,
            std::string detail, DenialKind kind = DenialKind::kGrant) {
    if (!passed && d.failed_rule.empty()) {
      d.failed_rule = name;
      d.message = std::string("denied by rule ") + name + ": " + detail;
      d.denial_kind = kind;
    }
    d.basis.push_back({name, passed, std::move(detail), grant});
    return passed;
  }

  // A closed ticket is final for everyone, and saying so is all its denial shows. Otherwise
  // the caller's membership comes first: a caller who is not a subject learns nothing else of
  // the ticket (its state, window or approvers) from the basis.
  bool checkTicket(Decision& d) {
    const std::string id = q(ticket_.id);
    if (isTerminalState(ticket_.state)) {
      d.ticket_closed = true;
      return rule(d, "", "ticket.state", false,
                  "ticket " + id + " is " + q(ticket_.state) + ", not approved (this is final)");
    }
    if (!containsIdentity(subjects_, normaliseIdentity(caller_.subject)))
      return rule(d, "", "caller.subject", false,
                  "caller " + q(caller_.subject) + " is not a subject of ticket " + id);
    rule(d, "", "caller.subject", true,
         "caller " + q(caller_.subject) + " is a subject of ticket " + id);
    if (!isUsableState(ticket_.state))
      return rule(d, "", "ticket.state", false,
                  "ticket " + id + " is " + q(ticket_.state) + ", not approved");
    rule(d, "", "ticket.state", true, "ticket " + id + " is approved");
    const std::string window =
        "[" + rfc3339(ticket_.window_start) + ", " + rfc3339(ticket_.window_end) + ")";
    if (now_ < ticket_.window_start)
      return rule(d, "", "ticket.window", false,
                  "the window of ticket " + id + " has not started yet: " + window);
    if (now_ >= ticket_.window_end) {
      d.ticket_closed = true;
      return rule(d, "", "ticket.window", false,
                  "the window of ticket " + id + " is over: " + window);
    }
    return rule(d, "", "ticket.window", true, "now is inside the window " + window);
  }

  Decision runNamed(Decision d) {
    const std::string& name = req_.grant;
    d.grant = name;
    if (std::find(ticket_.access.begin(), ticket_.access.end(), name) == ticket_.access.end()) {
      rule(d, name, "grant.access", false,
           "grant " + q(name) + " is not in the access of ticket " + q(ticket_.id));
      return d;
    }
    rule(d, name, "grant.access", true, "grant " + q(name) + " is in the ticket's access");
    const Grant* g = set_.find(name);
    if (!g) {
      rule(d, name, "grant.unknown", false, "grant " + q(name) + " is not defined by any policy");
      return d;
    }
    rule(d, name, "grant.unknown", true, "grant " + q(name) + " is defined in " + fileName(g->file));
    d.policy_file = fileName(g->file);
    checkGrant(*g, d);
    return d;
  }

  Decision runAuto(Decision d) {
    std::vector<std::string> names;  // the ticket's access, in order, each once
    for (const auto& n : ticket_.access)
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    if (names.empty()) {
      rule(d, "", "grant.access", false, "ticket " + q(ticket_.id) + " approves no grant");
      return d;
    }
    // Each candidate is judged on its own copy; the first to allow wins, otherwise the first
    // candidate's failure is reported. Every candidate's rules stay in the basis.
    std::optional<Decision> first_failure;
    for (const std::string& name : names) {
      Decision c;
      c.grant = name;
      rule(c, name, "grant.access", true, "grant " + q(name) + " is in the ticket's access");
      const Grant* g = set_.find(name);
      if (!g) {
        rule(c, name, "grant.unknown", false, "grant " + q(name) + " is not defined by any policy");
      } else {
        rule(c, name, "grant.unknown", true, "grant " + q(name) + " is defined in " + fileName(g->file));
        c.policy_file = fileName(g->file);
        checkGrant(*g, c);
      }
      d.basis.insert(d.basis.end(), c.basis.begin(), c.basis.end());
      if (c.allowed) {
        c.basis = std::move(d.basis);
        return c;
      }
      if (!first_failure) first_failure = std::move(c);
    }
    Decision& f = *first_failure;
    f.basis = std::move(d.basis);
    if (names.size() > 1)
      f.message += " (no grant in the access of ticket " + q(ticket_.id) +
                   " allows this request; the first, " + q(f.grant) + ", is reported)";
    return f;
  }

  // A denial must never carry a half-built profile that a careless caller could issue from.
  void checkGrant(const Grant& g, Decision& d) {
    if (checkGrantRules(g, d)) {
      d.allowed = true;
      d.break_glass = g.break_glass && ticket_.kind == "emergency";
      return;
    }
    d.audience.clear();
    d.scopes.clear();
    d.ttl = seconds(0);
    d.cert_profile = CertProfile::kClient;
    d.uri_sans.clear();
    d.dns_sans.clear();
    d.ssh_principals.clear();
    d.ssh_extensions.clear();
    d.ssh_force_command.clear();
    d.ssh_source_address.clear();
    d.database.clear();
    d.database_roles.clear();
  }

  bool checkGrantRules(const Grant& g, Decision& d) {
    const std::string& gn = g.name;
    if (!checkSubject(g, d) || !checkApprovals(g, d)) return false;

    if (req_.kind == CredentialKind::kDatabase) return checkDatabase(g, d);
    const bool token = req_.kind == CredentialKind::kToken;
    const bool ssh = req_.kind == CredentialKind::kSsh;
    const char* noun = token ? "tokens" : ssh ? "SSH certificates" : "certificates";
    if (token ? !g.token : ssh ? !g.ssh : !g.certificate)
      return rule(d, gn, "credential.kind", false, "grant " + q(gn) + " issues no " + noun);
    rule(d, gn, "credential.kind", true, "grant " + q(gn) + " issues " + noun);

    if (token && !checkToken(*g.token, gn, d)) return false;
    seconds max_ttl = token ? g.token->max_ttl : ssh ? g.ssh->max_ttl : g.certificate->max_ttl;
    if (!checkTtl(max_ttl, gn, d)) return false;
    if (ssh) return checkPrincipals(*g.ssh, gn, d);
    return token || checkSans(*g.certificate, gn, d);
  }

  // The same substitution rules as SANs; a certificate with no principal would admit any user,
  // so every template must expand.
  bool checkPrincipals(const SshRule& s, const std::string& gn, Decision& d) {
    SanContext ctx{&caller_.claims, caller_.subject, ticket_.id};
    std::vector<std::string> principals;
    for (const SanTemplate& t : s.principals) {
      std::string why;
      auto v = t.expand(ctx, &why);
      if (!v)
        return rule(d, gn, "ssh.principals", false,
                    "principal template " + q(t.text()) + " of grant " + q(gn) + ": " + why);
      if (std::find(principals.begin(), principals.end(), *v) == principals.end())
        principals.push_back(std::move(*v));
    }
    if (principals.empty())
      return rule(d, gn, "ssh.principals", false, "grant " + q(gn) + " yields no principal");
    std::string all;
    for (const auto& p : principals) all += (all.empty() ? "" : " ") + p;
    rule(d, gn, "ssh.principals", true, "principals " + q(all));
    d.ssh_principals = std::move(principals);
    d.ssh_extensions = s.extensions;
    d.ssh_force_command = s.force_command;
    d.ssh_source_address = s.source_address;
    return true;
  }

  bool checkDatabase(const Grant& g, Decision& d) {
    const std::string& gn = g.name;
    if (!g.database)
      return rule(d, gn, "credential.kind", false, "grant " + q(gn) + " issues no database roles");
    rule(d, gn, "credential.kind", true,
         "grant " + q(gn) + " issues roles on database " + q(g.database->name));
    if (!checkTtl(g.database->max_ttl, gn, d)) return false;
    d.database = g.database->name;
    d.database_roles = g.database->roles;
    return true;
  }

  bool checkSubject(const Grant& g, Decision& d) {
    const std::string& gn = g.name;
    if (g.issuers.empty()) {
      rule(d, gn, "subject.issuer", true, "grant " + q(gn) + " accepts any trusted issuer");
    } else if (std::find(g.issuers.begin(), g.issuers.end(), caller_.issuer) == g.issuers.end()) {
      return rule(d, gn, "subject.issuer", false,
                  "caller's issuer " + q(caller_.issuer) + " is not one of the " +
                      std::to_string(g.issuers.size()) + " issuer(s) required by grant " + q(gn));
    } else {
      rule(d, gn, "subject.issuer", true, "caller's issuer is " + q(caller_.issuer));
    }
    for (const auto& [claim, glob] : g.claim_globs) {
      const boost::json::value* v = caller_.claims.if_contains(claim);
      if (!v)
        return rule(d, gn, "subject.claims", false,
                    "claim " + q(claim) + " required by grant " + q(gn) +
                        " is missing from the caller's token");
      if (!claimMatches(*v, glob))
        return rule(d, gn, "subject.claims", false,
                    "claim " + q(claim) + " = " + q(claimText(*v)) + " does not match " + q(glob) +
                        " required by grant " + q(gn));
    }
    return rule(d, gn, "subject.claims", true,
                g.claim_globs.empty() ? "grant " + q(gn) + " sets no claim conditions"
                                      : "all " + std::to_string(g.claim_globs.size()) +
                                            " claim conditions of grant " + q(gn) + " match");
  }

  bool checkApprovals(const Grant& g, Decision& d) {
    const std::string& gn = g.name;
    const std::string id = q(ticket_.id);
    if (std::find(g.kinds.begin(), g.kinds.end(), ticket_.kind) == g.kinds.end()) {
      std::string kinds;
      for (const auto& k : g.kinds) kinds += (kinds.empty() ? "" : ", ") + k;
      return rule(d, gn, "ticket.kind", false,
                  "ticket " + id + " is of kind " + q(ticket_.kind) + "; grant " + q(gn) +
                      " accepts only " + kinds);
    }
    rule(d, gn, "ticket.kind", true, "grant " + q(gn) + " accepts " + q(ticket_.kind) + " tickets");

    if (g.separation_of_duties) {
      IdentityProblem why = IdentityProblem::kNone;
      if (!ticket_.requested_by.empty() && !requester_ &&
          !normaliseIdentity(ticket_.requested_by, &why))
        return rule(d, gn, "ticket.separation_of_duties", false,
                    "requester " + q(ticket_.requested_by) + " of ticket " + id + " " +
                        identityProblemText(why));
      for (size_t i = 0; i < ticket_.approved_by.size(); ++i) {
        const std::string& a = ticket_.approved_by[i];
        if (a.empty()) continue;
        if (!approvers_[i] && !normaliseIdentity(a, &why))
          return rule(d, gn, "ticket.separation_of_duties", false,
                      "approver " + q(a) + " of ticket " + id + " " + identityProblemText(why));
        if (sameIdentity(approvers_[i], requester_))
          return rule(d, gn, "ticket.separation_of_duties", false,
                      "approver " + q(a) + " is the requester of ticket " + id);
        if (std::string_view aid = idAt(ticket_.approved_by_ids, i);
            !aid.empty() && aid == ticket_.requested_by_id)
          return rule(d, gn, "ticket.separation_of_duties", false,
                      "approver " + q(a) + " is the requester of ticket " + id + " (same account " +
                          q(aid) + ")");
        if (containsIdentity(subjects_, approvers_[i]))
          return rule(d, gn, "ticket.separation_of_duties", false,
                      "approver " + q(a) + " is a subject of ticket " + id);
      }
      rule(d, gn, "ticket.separation_of_duties", true,
           "no approver of ticket " + id + " is its requester or a subject");
    } else {
      rule(d, gn, "ticket.separation_of_duties", true,
           "grant " + q(gn) + " does not require separation of duties");
    }

    // Only an emergency ticket under a break-glass grant may go below one approval.
    const bool emergency = g.break_glass && ticket_.kind == "emergency";
    const int required = emergency ? g.min_approvals : std::max(g.min_approvals, 1);
    const int have = distinctApprovers(approvers_, ticket_.approved_by_ids);
    std::string detail = "ticket " + id + " has " + std::to_string(have) +
                         " distinct approval(s); grant " + q(gn) + " requires " +
                         std::to_string(required);
    return rule(d, gn, "ticket.min_approvals", have >= required, detail);
  }

  bool checkToken(const TokenRule& t, const std::string& gn, Decision& d) {
    const std::string aud = req_.audience.empty() ? t.audience : req_.audience;
    if (aud != t.audience)
      return rule(d, gn, "request.audience", false,
                  "audience " + q(aud) + " is not allowed by grant " + q(gn) +
                      " (its audience is " + q(t.audience) + ")",
                  DenialKind::kTarget);
    rule(d, gn, "request.audience", true, "audience " + q(aud));
    for (const auto& s : req_.scopes)
      if (std::find(t.scopes.begin(), t.scopes.end(), s) == t.scopes.end())
        return rule(d, gn, "request.scope", false,
                    "scope " + q(s) + " is not granted by grant " + q(gn), DenialKind::kScope);
    std::vector<std::string> scopes;  // in the grant's order, so equal requests give equal tokens
    for (const auto& s : t.scopes)
      if (req_.scopes.empty() ||
          std::find(req_.scopes.begin(), req_.scopes.end(), s) != req_.scopes.end())
        scopes.push_back(s);
    std::string list;
    for (const auto& s : scopes) list += (list.empty() ? "" : " ") + s;
    rule(d, gn, "request.scope", true, "scopes " + q(list));
    d.audience = aud;
    d.scopes = std::move(scopes);
    return true;
  }

  bool checkTtl(seconds max_ttl, const std::string& gn, Decision& d) {
    if (req_.ttl && req_.ttl->count() <= 0)
      return rule(d, gn, "request.ttl", false,
                  "the requested ttl must be at least 1 second, not " + secs(*req_.ttl),
                  DenialKind::kRequest);
    const seconds remaining = std::chrono::floor<seconds>(ticket_.window_end - now_);
    seconds ttl = std::min(max_ttl, remaining);
    if (req_.ttl) ttl = std::min(ttl, *req_.ttl);
    std::string why = "min(requested " + (req_.ttl ? secs(*req_.ttl) : std::string("none")) +
                      ", max_ttl " + secs(max_ttl) + ", window remaining " + secs(remaining) + ")";
    if (ttl < seconds(1))
      return rule(
          d, gn, "request.ttl", false,
          "less than a second remains in the window of ticket " + q(ticket_.id) + ": " + why);
    rule(d, gn, "request.ttl", true, "ttl " + secs(ttl) + " = " + why);
    d.ttl = ttl;
    return true;
  }

  bool checkSans(const CertRule& c, const std::string& gn, Decision& d) {
    SanContext ctx{&caller_.claims, caller_.subject, ticket_.id};
    std::vector<std::string> uris, dns;
    for (const auto* list : {&c.uri_sans, &c.dns_sans}) {
      for (const SanTemplate& t : *list) {
        std::string why;
        auto v = t.expand(ctx, &why);
        if (!v)
          return rule(d, gn, "san.substitution", false,
                      "SAN template " + q(t.text()) + " of grant " + q(gn) + ": " + why);
        (list == &c.uri_sans ? uris : dns).push_back(std::move(*v));
      }
    }
    if (c.profile == CertProfile::kSpiffe && (uris.size() != 1 || !isValidSpiffeId(uris[0])))
      return rule(d, gn, "san.substitution", false,
                  "grant " + q(gn) + " must yield exactly one valid spiffe:// URI SAN");
    std::string all;
    for (const auto& s : uris) all += (all.empty() ? "" : " ") + s;
    for (const auto& s : dns) all += (all.empty() ? "" : " ") + s;
    rule(d, gn, "san.substitution", true,
         std::string("profile ") + certProfileName(c.profile) + ", SANs " + q(all));
    d.cert_profile = c.profile;
    d.uri_sans = std::move(uris);
    d.dns_sans = std::move(dns);
    return true;
  }

  const PolicySet& set_;
  const CallerFacts& caller_;
  const TicketFacts& ticket_;
  const IssueRequest& req_;
  const TimePoint now_;
  // The ticket's people in normalised form, computed once per evaluation (several grants may
  // be tried); nullopt where a name is refused (identity.h).
  const Normalised requester_;
  const std::vector<Normalised> approvers_, subjects_;
};

}  // namespace

Decision evaluate(const PolicySet& policies, const CallerFacts& caller, const TicketFacts& ticket,
                  const IssueRequest& request, TimePoint now) {
  return Evaluator(policies, caller, ticket, request, now).run();
}

}  // namespace jitb::policies
