#include "broker/operators/operator_tokens.h"

#include <openssl/crypto.h>

#include "broker/core/encoding.h"
#include "broker/core/files.h"
#include "broker/leases/lease_id.h"

namespace jitb::operators {

namespace {

// The lease's jti column holds "op:" + hex SHA-256 of the token: unique-indexed, so the
// lookup is one index probe, and never the token itself.
std::string digestKey(std::string_view token) {
  return "op:" + core::hexEncode(core::sha256(token));
}

}  // namespace

const char* toString(Role r) { return r == Role::kAdmin ? "admin" : "auditor"; }

std::optional<Role> roleFromString(std::string_view s) {
  if (s == "admin") return Role::kAdmin;
  if (s == "auditor") return Role::kAuditor;
  return std::nullopt;
}

core::StatusOr<IssuedToken> OperatorTokens::issue(Role role, const std::string& name,
                                                  std::chrono::milliseconds ttl,
                                                  const Operator& by) {
  if (name.empty() || name.size() > 128 || !core::validUtf8(name))
    return core::invalidArgument("name must be 1-128 characters of UTF-8");
  if (ttl <= std::chrono::milliseconds::zero() || ttl > kMaxTtl)
    return core::invalidArgument("ttl must be more than 0 and at most 720h");
  const core::TimePoint now = clock_.now();
  IssuedToken out;
  out.token = std::string(kPrefix) + core::randomHex(32);
  out.lease_id = leases::newLeaseId(now);
  out.expires_at = core::unixMillis(now + ttl);
  store::LeaseRow l;
  l.id = out.lease_id;
  l.kind = store::LeaseKind::kOperator;
  l.grant = toString(role);
  l.subject = name;
  l.issued_at = core::unixMillis(now);
  l.expires_at = out.expires_at;
  l.jti = digestKey(out.token);
  l.claims = "{}";
  // Audited before the lease exists: a token never works without its record in the log.
  core::Status st = audit_.append(
      "operator_token.issued", {{"lease", out.lease_id},
                                {"role", toString(role)},
                                {"name", name},
                                {"expires_at", out.expires_at},
                                {"by", by.name},
                                {"by_role", toString(by.role)},
                                {"by_lease", by.lease_id}});
  if (!st.ok()) return st;
  if (st = leases_.record(l); !st.ok()) return st;
  return out;
}

core::StatusOr<std::optional<Operator>> OperatorTokens::verify(std::string_view token) const {
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::optional<Operator>();
  const std::string key = digestKey(token);
  auto row = store_.findLeaseByJti(key);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return std::optional<Operator>();
  const store::LeaseRow& l = **row;
  // The index found the row by the digest; comparing it again in constant time keeps the
  // decision itself free of early exits on the secret-derived bytes.
  bool same = l.jti.size() == key.size() &&
              CRYPTO_memcmp(l.jti.data(), key.data(), key.size()) == 0;
  auto role = roleFromString(l.grant);
  if (!same || l.kind != store::LeaseKind::kOperator || !role ||
      l.state != store::LeaseState::kActive || l.expires_at <= core::unixMillis(clock_.now()))
    return std::optional<Operator>();
  return std::optional<Operator>(Operator{*role, l.subject, l.id});
}

}  // namespace jitb::operators
