// The keys each mapping of the broker's config accepts. The parser checks against these lists
// and configKeys() (config.h) lists them all, which a test compares with docs/configuration.md.
// Internal to broker/server.
#pragma once

#include <string_view>

namespace jitb::server::keys {

inline constexpr std::string_view kRoot[] = {"listen", "public_url", "data_dir", "policies_dir",
                                             "store", "tls", "trust", "tickets", "limits", "ca",
                                             "hooks", "threads", "databases",
                                             "acme", "keys"};
inline constexpr std::string_view kStore[] = {"sqlite", "postgres", "replica_id"};
inline constexpr std::string_view kTls[] = {"cert_file", "key_file"};
inline constexpr std::string_view kTrust[] = {"issuer", "jwks_file", "jwks_url", "audience",
                                              "ca_file"};
inline constexpr std::string_view kTickets[] = {"webhook", "servicenow", "jira", "max_age",
                                                "negative_ttl", "lookup_threads"};
inline constexpr std::string_view kWebhook[] = {"secret_file"};
inline constexpr std::string_view kLimits[] = {
    "max_active_leases_per_subject", "max_active_leases_per_ticket", "max_body_bytes",
    "max_connections", "max_connections_per_address", "handshake_timeout", "read_timeout",
    "audit_log_max_bytes", "lookups_per_caller", "lookup_rate_per_caller"};
inline constexpr std::string_view kCa[] = {"algorithm", "backdate", "crl_next_update",
                                           "intermediate_cert_file", "intermediate_key_file",
                                           "root_cert_file", "ssh_algorithm"};
inline constexpr std::string_view kHooks[] = {"revocation_url", "secret_file", "ca_file",
                                              "max_attempts", "initial_backoff"};
inline constexpr std::string_view kDatabases[] = {"name", "dsn_file", "host", "port", "database",
                                                  "connection_limit"};
inline constexpr std::string_view kServiceNow[] = {
    "base_url", "auth", "user", "password_file", "client_id", "client_secret_file", "ca_file",
    "timeout", "requests_per_second", "lookup_share", "max_attempts", "poll_interval",
    "page_size", "identity_field", "notify_secret_file", "tables"};
inline constexpr std::string_view kSnTable[] = {
    "prefix", "subjects_field", "access_field", "window_start_field", "window_end_field", "kind",
    "usable_states", "closed_states", "canceled_states", "standing", "standing_window",
    "by_assignment_group", "by_cmdb_ci"};
inline constexpr std::string_view kSnAssignment[] = {"subjects", "access"};
inline constexpr std::string_view kJira[] = {
    "base_url", "auth", "user", "token_file", "ca_file", "timeout", "requests_per_second",
    "lookup_share", "max_attempts", "poll_interval", "webhook_secret_file", "project_keys",
    "status_map", "kind_map", "fields", "identity"};
inline constexpr std::string_view kJiraFields[] = {"subjects", "access", "window_start",
                                                   "window_end"};

inline constexpr std::string_view kAcme[] = {"http01_port", "http01_address", "reject_nonce_every"};

inline constexpr std::string_view kKeys[] = {"kek_file", "jwks_max_age"};

}  // namespace jitb::server::keys
