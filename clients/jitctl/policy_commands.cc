// jitctl policy check DIR and jitctl policy explain: the policy engine, run locally.
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "broker/core/duration.h"
#include "broker/tickets/ticket.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"
#include "policies/engine/policy.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {

constexpr const char* kCheckHelp =
    "usage: jitctl policy check DIR [--json]\n"
    "  Validates every policy file in DIR; prints the grants, or FILE:LINE: message.\n";
constexpr const char* kExplainHelp =
    "usage: jitctl policy explain --policies DIR --ticket TICKET.json --claims CLAIMS.json\n"
    "         [--kind token|certificate] [--grant G] [--audience A] [--scope S]... [--ttl 10m]\n"
    "         [--at RFC3339]\n"
    "  Shows the decision the broker would make and its basis, rule by rule. TICKET.json is a\n"
    "  ticket as in docs/tickets.md (or {\"ticket\": {...}}); CLAIMS.json the caller's verified\n"
    "  JWT claims. Exit 0 when allowed, 3 when denied.\n";

// The reason a file cannot be used says which flag, which file and why (missing, unreadable,
// not JSON), so that a newcomer following the docs knows what to create.
core::StatusOr<json::value> readJson(const char* flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    int err = errno;
    return core::invalidArgument(std::string(flag) + " " + path + ": cannot read it: " +
                                 std::strerror(err));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  json::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  if (ec) return core::invalidArgument(std::string(flag) + " " + path + ": not JSON: " + ec.message());
  return v;
}

// What `jitctl tickets show ID --json` prints (GET /v1/tickets/{id}) is the ticket plus its
// leases: accept it as is, so that the broker's own view of a ticket can be explained.
json::value ticketOnly(json::value v) {
  if (!v.is_object()) return v;
  if (auto* inner = v.as_object().if_contains("ticket")) return *inner;
  v.as_object().erase("leases");
  v.as_object().erase("leases_truncated");
  return v;
}

}  // namespace

int cmdPolicy(const Argv& argv) {
  if (argv.empty() || (argv[0] != "check" && argv[0] != "explain"))
    return usage("expected: policy check DIR | policy explain ...", kCheckHelp);
  Argv rest(argv.begin() + 1, argv.end());
  client::Args a;
  const char* help = argv[0] == "check" ? kCheckHelp : kExplainHelp;
  int code;
  if (!parseArgs(rest, help,
                 {"--policies", "--ticket", "--claims", "--kind", "--grant", "--audience",
                  "--scope", "--ttl", "--at"},
                 {}, a, code, /*json=*/true, /*short_help=*/false))
    return code;

  if (argv[0] == "check") {
    if (a.positional().size() != 1) return usage("policy check takes one DIR", kCheckHelp);
    auto set = policies::PolicySet::loadDir(a.positional()[0]);
    if (!set.ok()) {
      std::fprintf(stderr, "%s\n", set.error().toString().c_str());
      return kFailure;
    }
    if (a.has("--json")) {
      json::array grants;
      for (const auto& g : set.value().grants())
        grants.push_back(json::object{{"name", g.name},
                                      {"file", g.file},
                                      {"line", g.line},
                                      {"token", g.token.has_value()},
                                      {"certificate", g.certificate.has_value()},
                                      {"break_glass", g.break_glass}});
      printJson(json::object{{"grants", std::move(grants)}, {"ok", true}});
      return kOk;
    }
    for (const auto& g : set.value().grants())
      std::printf("%-24s %s:%d%s%s%s\n", g.name.c_str(), g.file.c_str(), g.line,
                  g.token ? "  token" : "", g.certificate ? "  certificate" : "",
                  g.break_glass ? "  break-glass" : "");
    std::printf("%zu grants: ok\n", set.value().size());
    return kOk;
  }

  if (!a.has("--policies") || !a.has("--ticket") || !a.has("--claims"))
    return usage("--policies, --ticket and --claims are required", kExplainHelp);
  auto set = policies::PolicySet::loadDir(a.get("--policies"));
  if (!set.ok()) {
    std::fprintf(stderr, "%s\n", set.error().toString().c_str());
    return kFailure;
  }
  auto tv = readJson("--ticket", a.get("--ticket"));
  auto cv = readJson("--claims", a.get("--claims"));
  for (const auto* v : {&tv, &cv}) {
    if (v->ok()) continue;
    std::fprintf(stderr, "jitctl: %s\n", v->status().message().c_str());
    return kUsage;
  }
  if (!cv->is_object()) {
    std::fprintf(stderr, "jitctl: --claims %s: must be a JSON object of claims\n", a.get("--claims").c_str());
    return kUsage;
  }
  auto ticket = tickets::ticketFromJson(ticketOnly(std::move(*tv)));
  if (!ticket.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", ticket.status().message().c_str());
    return kUsage;
  }
  policies::CallerFacts caller;
  caller.claims = cv->as_object();
  if (auto* iss = caller.claims.if_contains("iss"); iss && iss->is_string()) caller.issuer = iss->as_string();
  if (auto* sub = caller.claims.if_contains("sub"); sub && sub->is_string()) caller.subject = sub->as_string();
  policies::IssueRequest req;
  req.kind = a.get("--kind", "token") == "certificate" ? policies::CredentialKind::kCertificate
                                                       : policies::CredentialKind::kToken;
  req.grant = a.get("--grant");
  req.audience = a.get("--audience");
  req.scopes = a.all("--scope");
  if (a.has("--ttl")) {
    auto d = core::parseDuration(a.get("--ttl"));
    if (!d) return usage("--ttl must be a duration such as 10m", kExplainHelp);
    req.ttl = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  auto now = std::chrono::system_clock::now();
  if (a.has("--at")) {
    auto t = core::parseRfc3339(a.get("--at"));
    if (!t) return usage("--at must be an RFC 3339 time", kExplainHelp);
    now = *t;
  }
  const tickets::Ticket& t = *ticket;
  policies::TicketFacts facts{t.id,          t.state,           t.kind,           t.requested_by,
                              t.approved_by, t.subjects,        t.access,         t.window_start,
                              t.window_end,  t.requested_by_id, t.approved_by_ids};
  policies::Decision d = policies::evaluate(set.value(), caller, facts, req, now);
  boost::system::error_code ec;
  json::value basis = json::parse(d.basisText(), ec);
  if (ec || !basis.is_object()) {  // a name or path in the inputs that is not UTF-8
    std::fprintf(stderr, "the decision's basis is not valid JSON: %s\n", ec.message().c_str());
    return kFailure;
  }
  json::object out = std::move(basis.as_object());
  if (!d.allowed) out["message"] = d.message;
  if (d.allowed) {
    out["ttl"] = d.ttl.count();
    if (req.kind == policies::CredentialKind::kToken) {
      out["audience"] = d.audience;
      json::array scopes;
      for (const auto& s : d.scopes) scopes.emplace_back(s);
      out["scopes"] = scopes;
    }
  }
  if (Context::from(a).json) {
    std::printf("%s\n", json::serialize(out).c_str());
  } else {
    std::printf("decision: %s%s\n", d.allowed ? "allowed" : "denied",
                d.grant.empty() ? "" : (" (grant " + d.grant + ", " + d.policy_file + ")").c_str());
    if (!d.allowed) std::printf("reason:   %s\n", d.message.c_str());
    for (const auto& r : d.basis)
      std::printf("  %s %-30s %s\n", r.passed ? "pass" : "FAIL", r.rule.c_str(), r.detail.c_str());
    if (d.allowed) std::printf("ttl:      %llds\n", static_cast<long long>(d.ttl.count()));
  }
  return d.allowed ? kOk : kDenied;
}

}  // namespace jitb::jitctl
