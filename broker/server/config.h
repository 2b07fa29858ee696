// The broker's YAML configuration (docs/configuration.md), parsed into typed values. Unknown keys and
// wrong types are errors that read "FILE:LINE: message naming the key".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/status.h"
#include "broker/tickets/jira_source.h"
#include "broker/tickets/servicenow_source.h"

namespace jitb::server {

struct TrustEntry {
  std::string issuer;
  std::string jwks_file;  // one of jwks_file / jwks_url
  std::string jwks_url;
  std::string audience;
  std::string ca_file;  // trust for the jwks_url's TLS certificate; empty: the system store
};

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
};

// HTTP towards an ITSM API.
struct ItsmHttpSettings {
  std::string ca_file;  // trust for the API's TLS certificate; empty: the system store
  std::chrono::milliseconds timeout{10'000};
  double requests_per_second = 10;
  double lookup_share = 0.3;  // of requests_per_second, for lookups (tickets/itsm_http.h)
  int64_t max_attempts = 3;
};

// tickets.servicenow (docs/itsm.md). Secrets are named by file and read at start.
struct ServiceNowConfig {
  tickets::servicenow::Settings settings;  // password and client_secret still empty
  std::string password_file, client_secret_file;
  std::string notify_secret_file;  // HMAC key of the Business Rule trigger
  std::chrono::milliseconds poll_interval{30'000};
  ItsmHttpSettings http;
};

// tickets.jira (docs/itsm.md).
struct JiraConfig {
  tickets::jira::Settings settings;  // token still empty
  std::string token_file;
  std::string webhook_secret_file;  // the secret configured on the Jira webhook
  std::chrono::milliseconds poll_interval{30'000};
  ItsmHttpSettings http;
};

struct CaSettings {
  std::string algorithm = "p256";  // p256 | p384 | ed25519 | rsa3072
  std::chrono::milliseconds backdate{30'000};
  std::chrono::milliseconds crl_next_update{3'600'000};
  // Bring your own issuing CA instead of generating one in data_dir/ca.
  std::string intermediate_cert_file, intermediate_key_file, root_cert_file;
  std::string ssh_algorithm = "ed25519";  // the SSH CA's key, made once: ed25519 | rsa3072
};

// Downstream revocation hook (optional): a signed POST per revoked lease, retried until done.
struct HookSettings {
  std::string revocation_url;  // https://
  std::string secret_file;     // HMAC key for X-Jitbroker-Signature
  std::string ca_file;         // trust for the hook's TLS certificate; empty: system store
  int64_t max_attempts = 8;
  std::chrono::milliseconds initial_backoff{1000};
};

// A PostgreSQL database whose login roles the broker makes per lease (databases:).
struct DatabaseSettings {
  std::string name;      // what grants name (database.name)
  std::string dsn_file;  // the broker's own login (libpq URI or key=value text); 0600
  std::string host;      // what callers are told to connect to
  int64_t port = 5432;
  std::string database;
  int64_t connection_limit = 10;  // of each role made
};

struct Limits {
  int64_t max_active_leases_per_subject = 1000;
  int64_t max_active_leases_per_ticket = 10000;
  int64_t lookups_per_caller = 4;  // ticket lookups under way at once per caller (iss, sub)
  double lookup_rate_per_caller = 2;  // per second, bucket of max(10, 5 s); 0: no rate limit
  int64_t max_body_bytes = 1 << 20;
  int64_t max_connections = 4096;
  int64_t max_connections_per_address = 256;  // an IPv6 source counts by its /64
  std::chrono::milliseconds handshake_timeout{3'000};  // accept to completed TLS handshake
  std::chrono::milliseconds read_timeout{15'000};
  int64_t audit_log_max_bytes = 64ll << 20;  // then audit.log rotates (chain kept)
};

// ACME (docs/acme.md): where http-01 challenges are fetched.
struct AcmeSettings {
  int64_t http01_port = 80;
  std::string http01_address;  // "": the name's own addresses (tests, split-horizon DNS)
  int64_t reject_nonce_every = 0;  // testing aid: every Nth request of a key gets badNonce; 0 never
};

// keys: set kek_file and the signing keys and CAs live in the store, sealed under that KEK,
// shared by every replica (keystore/); unset, they are files in data_dir.
struct KeySettings {
  std::string kek_file;
  // The JWKS's Cache-Control max-age when the keys are in the store; a rotated key signs only
  // once every replica and every client caching that long has it.
  std::chrono::milliseconds jwks_max_age{300'000};
};

struct Config {
  std::string source;  // file the config came from, for messages ("<dev>" in dev mode)
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8443;
  std::string public_url;  // derived from listen when empty
  std::string data_dir = "./var";
  std::string policies_dir = "./policies/default";
  std::string sqlite_path;  // default: data_dir/broker.db
  std::string postgres_url;
  // This replica's audit chain in the store (PostgreSQL); default: data_dir/replica.id, made
  // once.
  std::string replica_id;
  std::optional<TlsFiles> tls;
  std::vector<TrustEntry> trust;
  std::string webhook_secret_file;  // default: data_dir/webhook.secret
  std::optional<ServiceNowConfig> servicenow;
  std::optional<JiraConfig> jira;
  // A ticket owned by a source and not read from it for this long is read again before an
  // issuance is judged.
  std::chrono::milliseconds ticket_max_age{60'000};
  // How long a source's "no such ticket" is believed (tickets.negative_ttl).
  std::chrono::milliseconds ticket_negative_ttl{15'000};
  // Threads for issuances that wait on a ticket source or a JWKS fetch (tickets.lookup_threads).
  int64_t lookup_threads = 8;
  Limits limits;
  CaSettings ca;
  std::optional<HookSettings> hooks;
  std::vector<DatabaseSettings> databases;
  AcmeSettings acme;
  KeySettings keys;
  unsigned threads = 0;  // 0: one per core
  bool dev = false;
};

// Parses YAML text. `file` names the source in messages; relative paths are resolved against
// `base_dir`.
core::StatusOr<Config> parseConfig(std::string_view yaml, const std::string& file,
                                   const std::string& base_dir);
core::StatusOr<Config> loadConfig(const std::string& path);

// "HOST:PORT" (IPv6 as "[::1]:8443").
core::Status parseListen(std::string_view text, std::string& host, uint16_t& port);

// Every key the parser accepts, as dotted paths ("limits.read_timeout", "trust[].issuer",
// "tickets.servicenow.tables.<table>.kind"): docs/configuration.md must list exactly these.
std::vector<std::string> configKeys();

// Fills derived defaults (public_url, sqlite_path, the webhook secret files) once the port is
// known.
void applyDefaults(Config& c, uint16_t bound_port);

}  // namespace jitb::server
