#include "broker/server/config.h"

#include <arpa/inet.h>
#include <cctype>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "broker/server/config_databases.h"
#include "broker/server/config_itsm.h"
#include "broker/server/config_keys.h"
#include "broker/server/yaml_checker.h"
#include "broker/server/yaml_hints.h"

namespace jitb::server {

namespace fs = std::filesystem;

namespace {

// An id that reads the same in every record and shell: it is written into each audit record.
bool validReplicaId(const std::string& id) {
  if (id.empty()) return true;  // unset: the default
  if (id.size() > 64) return false;
  for (char ch : id)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != ':' &&
        ch != '-')
      return false;
  return true;
}

void parseTrust(Checker& c, const YAML::Node& list, Config& cfg) {
  if (!list.IsSequence()) {
    c.fail(list, "'trust' must be a list");
    return;
  }
  for (size_t i = 0; i < list.size() && !c.failed(); ++i) {
    const YAML::Node e = list[i];
    std::string where = "trust[" + std::to_string(i) + "]";
    TrustEntry t;
    if (!c.keys(e, where, keys::kTrust)) return;
    c.str(e, "issuer", where + ".issuer", t.issuer);
    c.path(e, "jwks_file", where + ".jwks_file", t.jwks_file);
    c.str(e, "jwks_url", where + ".jwks_url", t.jwks_url);
    c.str(e, "audience", where + ".audience", t.audience);
    c.path(e, "ca_file", where + ".ca_file", t.ca_file);
    if (c.failed()) return;
    if (t.issuer.empty()) c.fail(e, "'" + where + ".issuer' is required");
    else if (t.jwks_file.empty() == t.jwks_url.empty())
      c.fail(e, "'" + where + "' needs exactly one of jwks_file or jwks_url");
    else if (!t.jwks_url.empty() && t.jwks_url.rfind("https://", 0) != 0)
      c.fail(e["jwks_url"], "'" + where + ".jwks_url' must be an https:// URL");
    else if (t.audience.empty()) c.fail(e, "'" + where + ".audience' is required");
    else if (!t.ca_file.empty() && t.jwks_url.empty())
      c.fail(e["ca_file"], "'" + where + ".ca_file' applies to jwks_url only");
    cfg.trust.push_back(std::move(t));
  }
}

void parseLimits(Checker& c, const YAML::Node& n, Limits& l) {
  if (!c.keys(n, "limits", keys::kLimits))
    return;
  c.integer(n, "max_active_leases_per_subject", "limits.max_active_leases_per_subject",
            l.max_active_leases_per_subject, 1, 10'000'000);
  c.integer(n, "max_active_leases_per_ticket", "limits.max_active_leases_per_ticket",
            l.max_active_leases_per_ticket, 1, 100'000'000);
  c.integer(n, "max_body_bytes", "limits.max_body_bytes", l.max_body_bytes, 1024, 64 << 20);
  c.integer(n, "lookups_per_caller", "limits.lookups_per_caller", l.lookups_per_caller, 1, 1024);
  c.number(n, "lookup_rate_per_caller", "limits.lookup_rate_per_caller", l.lookup_rate_per_caller,
           0, 10000);
  c.integer(n, "max_connections", "limits.max_connections", l.max_connections, 1, 1'000'000);
  c.integer(n, "max_connections_per_address", "limits.max_connections_per_address",
            l.max_connections_per_address, 1, 1'000'000);
  c.duration(n, "handshake_timeout", "limits.handshake_timeout", l.handshake_timeout);
  c.duration(n, "read_timeout", "limits.read_timeout", l.read_timeout);
  c.integer(n, "audit_log_max_bytes", "limits.audit_log_max_bytes", l.audit_log_max_bytes, 4096,
            1ll << 40);
}

void parseCa(Checker& c, const YAML::Node& n, CaSettings& ca) {
  if (!c.keys(n, "ca", keys::kCa))
    return;
  c.str(n, "algorithm", "ca.algorithm", ca.algorithm);
  if (!c.failed() && ca.algorithm != "p256" && ca.algorithm != "p384" &&
      ca.algorithm != "ed25519" && ca.algorithm != "rsa3072")
    c.fail(n["algorithm"], "'ca.algorithm' must be p256, p384, ed25519 or rsa3072");
  c.duration(n, "backdate", "ca.backdate", ca.backdate);
  c.duration(n, "crl_next_update", "ca.crl_next_update", ca.crl_next_update);
  c.path(n, "intermediate_cert_file", "ca.intermediate_cert_file", ca.intermediate_cert_file);
  c.path(n, "intermediate_key_file", "ca.intermediate_key_file", ca.intermediate_key_file);
  c.path(n, "root_cert_file", "ca.root_cert_file", ca.root_cert_file);
  if (!c.failed() && ca.intermediate_cert_file.empty() != ca.intermediate_key_file.empty())
    c.fail(n, "'ca' needs both intermediate_cert_file and intermediate_key_file, or neither");
  c.str(n, "ssh_algorithm", "ca.ssh_algorithm", ca.ssh_algorithm);
  if (!c.failed() && ca.ssh_algorithm != "ed25519" && ca.ssh_algorithm != "rsa3072")
    c.fail(n["ssh_algorithm"], "'ca.ssh_algorithm' must be ed25519 or rsa3072");
}

void parseHooks(Checker& c, const YAML::Node& n, Config& cfg) {
  if (!c.keys(n, "hooks", keys::kHooks))
    return;
  HookSettings h;
  c.str(n, "revocation_url", "hooks.revocation_url", h.revocation_url);
  c.path(n, "secret_file", "hooks.secret_file", h.secret_file);
  c.path(n, "ca_file", "hooks.ca_file", h.ca_file);
  c.integer(n, "max_attempts", "hooks.max_attempts", h.max_attempts, 1, 1000);
  c.duration(n, "initial_backoff", "hooks.initial_backoff", h.initial_backoff);
  if (c.failed()) return;
  if (h.revocation_url.rfind("https://", 0) != 0)
    c.fail(n, "'hooks.revocation_url' must be an https:// URL");
  else if (h.secret_file.empty())
    c.fail(n, "'hooks.secret_file' is required: hook calls are signed");
  cfg.hooks = h;
}

void parseAcme(Checker& c, const YAML::Node& n, AcmeSettings& a) {
  if (!c.keys(n, "acme", keys::kAcme)) return;
  c.integer(n, "http01_port", "acme.http01_port", a.http01_port, 1, 65535);
  c.str(n, "http01_address", "acme.http01_address", a.http01_address);
  unsigned char buf[16];
  if (!c.failed() && !a.http01_address.empty() &&
      inet_pton(AF_INET, a.http01_address.c_str(), buf) != 1 &&
      inet_pton(AF_INET6, a.http01_address.c_str(), buf) != 1)
    c.fail(n["http01_address"], "'acme.http01_address' must be an IP address");
  // 1 would refuse every nonce, and no client could ever get through.
  c.integer(n, "reject_nonce_every", "acme.reject_nonce_every", a.reject_nonce_every, 0, 1'000'000);
  if (!c.failed() && a.reject_nonce_every == 1)
    c.fail(n["reject_nonce_every"], "'acme.reject_nonce_every' must be 0 (off) or 2 or more");
}

void parseKeys(Checker& c, const YAML::Node& n, KeySettings& k) {
  if (!c.keys(n, "keys", keys::kKeys)) return;
  c.path(n, "kek_file", "keys.kek_file", k.kek_file);
  c.duration(n, "jwks_max_age", "keys.jwks_max_age", k.jwks_max_age);
  if (!c.failed() && n["jwks_max_age"] && (k.jwks_max_age < std::chrono::seconds(1) ||
                                           k.jwks_max_age > std::chrono::hours(24)))
    c.fail(n["jwks_max_age"], "'keys.jwks_max_age' must be between 1s and 24h");
}

}  // namespace

core::Status parseListen(std::string_view text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return core::invalidArgument("listen must be HOST:PORT, got '" + std::string(text) + "'");
  std::string_view h = text.substr(0, colon);
  if (h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned p = 0;
  auto ps = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), p);
  if (ec != std::errc() || end != ps.data() + ps.size() || p > 65535)
    return core::invalidArgument("listen port must be 0-65535, got '" + std::string(ps) + "'");
  host = h;
  port = static_cast<uint16_t>(p);
  return core::okStatus();
}

namespace {
core::StatusOr<Config> parseTree(const YAML::Node& root, const std::string& file,
                                 const std::string& base_dir) {
  Config cfg;
  cfg.source = file;
  // Defaults are relative to the config file's folder, like every path in it.
  cfg.data_dir = (fs::path(base_dir) / "var").lexically_normal().string();
  cfg.policies_dir = (fs::path(base_dir) / "policies/default").lexically_normal().string();
  if (!root || root.IsNull()) return core::invalidArgument(file + ":1: the config is empty");
  Checker c(file, base_dir);
  if (!c.keys(root, "", keys::kRoot))
    return c.error();
  std::string listen;
  c.str(root, "listen", "listen", listen);
  if (!c.failed() && !listen.empty()) {
    if (core::Status st = parseListen(listen, cfg.listen_host, cfg.listen_port); !st.ok())
      c.fail(root["listen"], st.message());
  }
  c.str(root, "public_url", "public_url", cfg.public_url);
  if (!c.failed() && !cfg.public_url.empty() && cfg.public_url.rfind("https://", 0) != 0)
    c.fail(root["public_url"], "'public_url' must start with https://");
  c.path(root, "data_dir", "data_dir", cfg.data_dir);
  c.path(root, "policies_dir", "policies_dir", cfg.policies_dir);
  if (const YAML::Node s = root["store"]; s && !c.failed()) {
    if (c.keys(s, "store", keys::kStore)) {
      c.path(s, "sqlite", "store.sqlite", cfg.sqlite_path);
      c.str(s, "postgres", "store.postgres", cfg.postgres_url);
      c.str(s, "replica_id", "store.replica_id", cfg.replica_id);
      if (!c.failed() && !validReplicaId(cfg.replica_id))
        c.fail(s["replica_id"], "'store.replica_id' takes 1-64 letters, digits, '.', '_', ':' or '-'");
      if (!c.failed() && !cfg.sqlite_path.empty() && !cfg.postgres_url.empty())
        c.fail(s, "'store' takes one of sqlite or postgres, not both");
    }
  }
  if (const YAML::Node t = root["tls"]; t && !c.failed()) {
    if (c.keys(t, "tls", keys::kTls)) {
      TlsFiles tf;
      c.path(t, "cert_file", "tls.cert_file", tf.cert_file);
      c.path(t, "key_file", "tls.key_file", tf.key_file);
      if (!c.failed() && (tf.cert_file.empty() || tf.key_file.empty()))
        c.fail(t, "'tls' needs both cert_file and key_file");
      cfg.tls = tf;
    }
  }
  if (const YAML::Node t = root["trust"]; t && !c.failed()) parseTrust(c, t, cfg);
  if (const YAML::Node t = root["tickets"]; t && !c.failed()) parseTickets(c, t, cfg);
  if (const YAML::Node l = root["limits"]; l && !c.failed()) parseLimits(c, l, cfg.limits);
  if (const YAML::Node a = root["ca"]; a && !c.failed()) parseCa(c, a, cfg.ca);
  if (const YAML::Node h = root["hooks"]; h && !c.failed()) parseHooks(c, h, cfg);
  if (const YAML::Node d = root["databases"]; d && !c.failed()) parseDatabases(c, d, cfg);
  if (const YAML::Node a = root["acme"]; a && !c.failed()) parseAcme(c, a, cfg.acme);
  if (const YAML::Node k = root["keys"]; k && !c.failed()) parseKeys(c, k, cfg.keys);
  int64_t threads = 0;
  c.integer(root, "threads", "threads", threads, 0, 256);
  cfg.threads = static_cast<unsigned>(threads);
  if (c.failed()) return c.error();
  return cfg;
}
}  // namespace

core::StatusOr<Config> parseConfig(std::string_view yaml, const std::string& file,
                                   const std::string& base_dir) {
  // yaml-cpp reports by exception; none may leave this module.
  core::StatusOr<Config> r = core::invalidArgument("");
  try {
    r = parseTree(YAML::Load(std::string(yaml)), file, base_dir);
  } catch (const YAML::Exception& e) {
    r = core::invalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (r.ok()) return r;
  // A tab or an open quote at or before the error is its likely cause, in plainer words.
  if (auto hint = yamlHint(yaml, file, errorLine(r.status().message(), file)))
    return core::invalidArgument(*hint);
  return r;
}

core::StatusOr<Config> loadConfig(const std::string& path) {
  auto text = core::readFile(path);
  // "FILE: cannot read the config file: REASON" (no such file, permission denied, ...).
  if (!text.ok()) {
    const std::string& m = text.status().message();
    size_t colon = m.rfind(": ");
    return core::invalidArgument(path + ": cannot read the config file" +
                                 (colon == std::string::npos ? "" : m.substr(colon)));
  }
  std::string base = fs::absolute(path).parent_path().string();
  return parseConfig(*text, path, base);
}

std::vector<std::string> configKeys() {
  std::vector<std::string> out;
  auto add = [&out](const std::string& prefix, std::span<const std::string_view> names) {
    for (auto n : names) out.push_back(prefix + std::string(n));
  };
  add("", keys::kRoot);
  add("store.", keys::kStore);
  add("tls.", keys::kTls);
  add("trust[].", keys::kTrust);
  add("tickets.", keys::kTickets);
  add("tickets.webhook.", keys::kWebhook);
  add("tickets.servicenow.", keys::kServiceNow);
  add("tickets.servicenow.tables.<table>.", keys::kSnTable);
  add("tickets.servicenow.tables.<table>.by_assignment_group.<sys_id>.", keys::kSnAssignment);
  add("tickets.servicenow.tables.<table>.by_cmdb_ci.<sys_id>.", keys::kSnAssignment);
  add("tickets.jira.", keys::kJira);
  add("tickets.jira.fields.", keys::kJiraFields);
  add("limits.", keys::kLimits);
  add("ca.", keys::kCa);
  add("hooks.", keys::kHooks);
  add("databases[].", keys::kDatabases);
  add("acme.", keys::kAcme);
  add("keys.", keys::kKeys);
  return out;
}

void applyDefaults(Config& c, uint16_t bound_port) {
  if (c.public_url.empty()) {
    std::string host = c.listen_host.find(':') != std::string::npos ? "[" + c.listen_host + "]"
                                                                    : c.listen_host;
    c.public_url = "https://" + host + ":" + std::to_string(bound_port);
  }
  if (c.sqlite_path.empty() && c.postgres_url.empty())
    c.sqlite_path = (fs::path(c.data_dir) / "broker.db").string();
  if (c.webhook_secret_file.empty())
    c.webhook_secret_file = (fs::path(c.data_dir) / "webhook.secret").string();
  if (c.servicenow && c.servicenow->notify_secret_file.empty())
    c.servicenow->notify_secret_file = (fs::path(c.data_dir) / "servicenow.secret").string();
  if (c.jira && c.jira->webhook_secret_file.empty())
    c.jira->webhook_secret_file = (fs::path(c.data_dir) / "jira.secret").string();
}

}  // namespace jitb::server
