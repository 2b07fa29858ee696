// The typed form of one entry of a policy file's `grants:` list (docs/policies.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policies/engine/san_template.h"

namespace jitb::policies {

enum class CertProfile { kClient, kServer, kSpiffe };
const char* certProfileName(CertProfile p);

struct TokenRule {
  std::string audience;             // required; a request may only ask for exactly this
  std::vector<std::string> scopes;  // the most a request may ask for, in the author's order
  std::chrono::seconds max_ttl{std::chrono::minutes(15)};
};

struct CertRule {
  CertProfile profile = CertProfile::kClient;
  std::vector<SanTemplate> uri_sans;  // spiffe: exactly one, starting spiffe://
  std::vector<SanTemplate> dns_sans;
  std::chrono::seconds max_ttl{std::chrono::hours(1)};
};

// OpenSSH user certificates (docs/policies.md#ssh).
struct SshRule {
  std::vector<SanTemplate> principals;  // 1-16; the certificate's principals, never empty
  std::chrono::seconds max_ttl{std::chrono::hours(1)};
  std::vector<std::string> extensions{"permit-pty"};  // flag extensions, as written
  std::string force_command;                          // "" = none
  std::string source_address;                         // "" = none; comma-separated CIDRs
};

// A PostgreSQL login role per lease, member of `roles` only (docs/database-credentials.md).
struct DatabaseRule {
  std::string name;                // a `databases:` entry of the broker's config
  std::vector<std::string> roles;  // existing group roles
  std::chrono::seconds max_ttl{std::chrono::hours(1)};
};

struct Grant {
  std::string name;  // [a-z0-9_-]{1,64}, unique across the whole policy set
  std::string file;  // where it was defined, for error messages and the decision basis
  int line = 0;

  // subjects: every condition must hold for the caller's verified JWT
  // The caller's iss must equal one of these; empty = any trusted issuer (allowed only while
  // the broker trusts one issuer, so that the same `sub` from another issuer never matches).
  std::vector<std::string> issuers;
  // claim -> glob; every one must match. A missing claim never matches; an array claim matches
  // when any element does; non-string claims are compared by their JSON text.
  std::vector<std::pair<std::string, std::string>> claim_globs;

  // tickets
  std::vector<std::string> kinds;  // standard | normal | emergency (emergency only if break_glass)
  int min_approvals = 1;           // distinct approvers; 0 only on a break-glass grant
  bool separation_of_duties = true;
  bool break_glass = false;  // accepts emergency tickets with fewer approvals; max_ttl <= 1h

  // credentials: an absent section means that credential kind is denied under this grant
  std::optional<TokenRule> token;
  std::optional<CertRule> certificate;
  std::optional<SshRule> ssh;
  std::optional<DatabaseRule> database;
};

}  // namespace jitb::policies
