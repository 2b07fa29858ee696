// libFuzzer target: arbitrary bytes as a policy file. Parsing must never crash, hang or throw;
// whatever parses is then evaluated against fixed facts so SAN templates, globs and the
// decision basis are exercised on fuzzer-built policies too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policies/engine/policy.h"

using namespace jitb::policies;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Parsed<PolicySet> parsed = PolicySet::parseFile(text, "fuzz.yaml");
  if (!parsed.ok()) {
    (void)parsed.error().toString();
    return 0;
  }
  const PolicySet& set = parsed.value();
  const TimePoint now = Clock::from_time_t(1'795'456'800);
  CallerFacts caller;
  caller.issuer = "https://issuer.example";
  caller.subject = "repo:acme/api";
  caller.claims = {{"repository", "acme/api"},
                   {"service", "payments"},
                   {"env", "prod"},
                   {"groups", boost::json::array{"ops", "dev"}},
                   {"n", 3}};
  TicketFacts ticket;
  ticket.id = "CHG1";
  ticket.state = "approved";
  ticket.requested_by = "alice";
  ticket.approved_by = {"bob"};
  ticket.subjects = {caller.subject};
  ticket.window_start = now - std::chrono::hours(1);
  ticket.window_end = now + std::chrono::hours(1);
  for (const Grant& g : set.grants()) ticket.access.push_back(g.name);
  for (const char* kind : {"normal", "emergency"}) {
    ticket.kind = kind;
    for (CredentialKind ck : {CredentialKind::kToken, CredentialKind::kCertificate}) {
      IssueRequest req;
      req.kind = ck;
      Decision d = evaluate(set, caller, ticket, req, now);
      (void)d.basisText();
      if (d.allowed && d.ttl.count() < 1) __builtin_trap();  // an allow always has a usable TTL
    }
  }
  return 0;
}
