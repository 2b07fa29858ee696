// Bearer tokens for people (operators and auditors), each one a lease of kind "operator": it
// is listed with the other leases, ends at its TTL and can be revoked. The store keeps only
// the token's SHA-256, so a copy of the database gives no way in.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/leases/lease_manager.h"
#include "broker/store/store.h"

namespace jitb::operators {

// admin: every admin route. auditor: reads them, acts on none.
enum class Role { kAdmin, kAuditor };
const char* toString(Role r);
std::optional<Role> roleFromString(std::string_view s);

// Who presented a bearer token. The admin.token file's holder is {kAdmin, "admin.token", ""}.
struct Operator {
  Role role = Role::kAuditor;
  std::string name;
  std::string lease_id;  // empty for the admin.token file
};

struct IssuedToken {
  std::string token;
  std::string lease_id;
  int64_t expires_at = 0;  // Unix ms
};

class OperatorTokens {
 public:
  // Longest life a token may ask for: a person's token is renewed, not kept for months.
  static constexpr std::chrono::hours kMaxTtl{24 * 30};
  static constexpr std::string_view kPrefix = "jbo_";

  OperatorTokens(store::Store& store, leases::LeaseManager& leases, audit::AuditSink& audit,
                 const core::Clock& clock)
      : store_(store), leases_(leases), audit_(audit), clock_(clock) {}

  // Makes a token for `name` with `role`, recorded as a lease and audited with who asked.
  // InvalidArgument for an empty or over-long name or a TTL outside (0, kMaxTtl].
  core::StatusOr<IssuedToken> issue(Role role, const std::string& name,
                                    std::chrono::milliseconds ttl, const Operator& by);

  // The operator holding `token`, or nullopt when it is unknown, revoked or expired (checked
  // against the clock, not only the expiry timer, so an expired token is refused at once).
  core::StatusOr<std::optional<Operator>> verify(std::string_view token) const;

 private:
  store::Store& store_;
  leases::LeaseManager& leases_;
  audit::AuditSink& audit_;
  const core::Clock& clock_;
};

}  // namespace jitb::operators
