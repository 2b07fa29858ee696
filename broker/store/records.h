// Plain rows the store keeps. Times are Unix milliseconds (UTC) so rows compare as integers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace jitb::store {

// kOperator: an operator's bearer token for the admin routes (no ticket; ends at its TTL or
// when revoked).
enum class LeaseKind {
  kToken = 0, kCertificate = 1, kSsh = 2, kDatabase = 3, kOperator = 4, kAcmeAccount = 5 };
enum class LeaseState { kActive = 0, kExpired = 1, kRevoked = 2 };

const char* toString(LeaseKind k);
const char* toString(LeaseState s);
std::optional<LeaseState> leaseStateFromString(std::string_view s);
std::optional<LeaseKind> leaseKindFromString(std::string_view s);

struct LeaseRow {
  std::string id;
  LeaseKind kind = LeaseKind::kToken;
  std::string ticket;
  std::string grant;
  std::string subject;
  LeaseState state = LeaseState::kActive;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  int64_t ended_at = 0;  // 0 while active
  std::string reason;
  std::string jti;     // tokens
  std::string serial;  // certificates, lowercase hex; SSH certificates, decimal
  std::string claims;  // tokens: the JSON claims, for introspection; database: role and revocation
  bool review = false;  // issued through break-glass: listed at /v1/reviews
  bool reviewed = false;  // of a break-glass lease: an admin marked its review done
  // Who the decision allowed: the caller's verified issuer and claims (JSON object text), so
  // that the lease can be judged again by the same decision when its ticket or the policies
  // change. Empty for leases recorded before these were kept.
  std::string caller_issuer;
  std::string caller_claims;
};

// Downstream revocation work (a hook call per ended lease), durable until delivered.
enum class JobState { kPending = 0, kDone = 1, kAttention = 2 };
struct JobRow {
  int64_t id = 0;
  std::string lease_id;
  std::string payload;  // JSON sent to the hook
  int attempts = 0;
  int64_t next_at = 0;
  JobState state = JobState::kPending;
  std::string last_error;
  // Who runs it: "hook" (the revocation hook's POST) or "database" (a PostgreSQL role's
  // revocation steps, downstream::DatabaseRevoker).
  std::string kind = "hook";
};

// A ticket as last applied: indexed fields plus the normalised JSON it came from.
struct TicketRow {
  std::string id;
  std::string state;
  int64_t updated_at = 0;
  int64_t window_end = 0;
  std::string json;
  int64_t received_at = 0;
};

// ACME (RFC 8555) protocol state, one row per object (EAB key, account, order, authorization,
// nonce key): `body` is the object as JSON, `status` its RFC 8555 status, which conditional
// writes test so that a single-use step (an EAB key, a finalize) happens once across replicas.
struct AcmeRow {
  std::string id;
  std::string kind;     // "eab", "account", "order", "authz", "nonce_key"
  std::string account;  // the owning account's id; "" for rows that have none
  std::string ticket;
  std::string status;
  std::string body;
  int64_t updated_at = 0;
};

// One key the replicas share (keystore/): the secret part sealed under its own data key, which
// the KEK wraps. Rows are written once and never updated: a rotation adds the next version, and
// what a key is for at a given time (published, signing, retired) follows from the timestamps,
// so replicas agree without writing to each other. The binary fields are base64url text.
struct KeyMaterialRow {
  std::string key_id;       // unique
  std::string purpose;      // "token_signing", "ca", "ssh_ca"; (purpose, version) is unique
  std::string algorithm;    // "ES256", "p256", "ed25519", ...
  int64_t version = 0;
  std::string public_data;  // not secret: a JWK, a certificate chain, an SSH public key
  std::string wrapped_dek;  // the data key, sealed by the KEK
  std::string ciphertext;   // the secret, sealed by the data key
  int64_t created_at = 0;   // unix ms
  int64_t active_from = 0;  // unix ms: signs from then on (published from created_at)
};

}  // namespace jitb::store
