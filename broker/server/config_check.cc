#include "broker/server/config_check.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "broker/core/files.h"
#include "broker/jose/jwks.h"
#include "broker/keystore/kek.h"
#include "broker/server/config_databases.h"
#include "broker/server/policy_loader.h"
#include "broker/store/postgres/pg_migrations.h"
#include "ca/ossl.h"
#include "clients/lib/https_client.h"

namespace jitb::server {

namespace fs = std::filesystem;

namespace {

class Problems {
 public:
  void add(std::string p) { list_.push_back(std::move(p)); }
  std::vector<std::string> take() { return std::move(list_); }

  // A file serve reads: readable and not empty. Returns its text.
  std::optional<std::string> read(const std::string& key, const std::string& path) {
    auto text = core::readTrimmedFile(path);
    if (!text.ok()) {
      add("'" + key + "': " + text.status().message());
      return std::nullopt;
    }
    return *text;
  }

  // A file serve reads when it exists and creates otherwise (secrets): readable, or creatable.
  void readOrCreatable(const std::string& key, const std::string& path) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
      read(key, path);
      return;
    }
    creatable(key, path);
  }

  // A path whose nearest existing ancestor is a folder serve may write in.
  void creatable(const std::string& key, const std::string& path) {
    fs::path p = fs::absolute(path).parent_path();
    std::error_code ec;
    while (!p.empty() && !fs::exists(p, ec) && p != p.root_path()) p = p.parent_path();
    if (::access(p.c_str(), W_OK | X_OK) != 0)
      add("'" + key + "': cannot create " + path + ": " + p.string() + ": " +
          std::strerror(errno));
  }

  // A server serve calls: reachable over TLS (any HTTP answer will do).
  void reachable(const std::string& key, const std::string& url, const std::string& ca_file) {
    client::HttpOptions o;
    o.ca_file = ca_file;
    o.timeout = std::chrono::seconds(10);
    auto r = client::httpsRequest("GET", url, {}, "", o);
    if (!r.ok()) add("'" + key + "': " + url + ": " + r.status().message());
  }

 private:
  std::vector<std::string> list_;
};

void checkTls(Problems& p, const TlsFiles& tls) {
  auto cert_pem = p.read("tls.cert_file", tls.cert_file);
  auto key_pem = p.read("tls.key_file", tls.key_file);
  if (!cert_pem || !key_pem) return;
  ca::BioPtr cb(BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())));
  ca::BioPtr kb(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr),
                                                   X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  ERR_clear_error();
  if (!cert) p.add("'tls.cert_file': " + tls.cert_file + " holds no PEM certificate");
  if (!key) p.add("'tls.key_file': " + tls.key_file + " holds no PEM private key");
  if (cert && key && X509_check_private_key(cert.get(), key.get()) != 1)
    p.add("'tls.key_file': " + tls.key_file + " is not the key of " + tls.cert_file);
  ERR_clear_error();
}

void checkTrust(Problems& p, const Config& cfg, const CheckOptions& opts) {
  if (cfg.trust.empty())
    p.add("'trust': no trusted issuer: no caller can present a token, so nothing would be "
          "issued (jitbroker dev trusts its own dev issuer; serve trusts only this list)");
  for (size_t i = 0; i < cfg.trust.size(); ++i) {
    const TrustEntry& t = cfg.trust[i];
    const std::string where = "trust[" + std::to_string(i) + "]";
    if (!t.ca_file.empty()) p.read(where + ".ca_file", t.ca_file);
    if (!t.jwks_file.empty()) {
      if (auto text = p.read(where + ".jwks_file", t.jwks_file)) {
        auto set = jose::KeySet::parse(*text);
        if (!set.ok()) p.add("'" + where + ".jwks_file': " + t.jwks_file + ": " + set.status().message());
      }
      continue;
    }
    if (opts.offline) continue;
    client::HttpOptions o;
    o.ca_file = t.ca_file;
    o.timeout = std::chrono::seconds(10);
    auto r = client::httpsRequest("GET", t.jwks_url, {}, "", o);
    if (!r.ok()) {
      p.add("'" + where + ".jwks_url': " + t.jwks_url + ": " + r.status().message());
    } else if (r->status != 200) {
      p.add("'" + where + ".jwks_url': " + t.jwks_url + " answered HTTP " + std::to_string(r->status));
    } else if (auto set = jose::KeySet::parse(r->body); !set.ok()) {
      p.add("'" + where + ".jwks_url': " + t.jwks_url + ": " + set.status().message());
    }
  }
}

void checkTickets(Problems& p, const Config& cfg, const CheckOptions& opts) {
  if (const auto& sn = cfg.servicenow) {
    if (!sn->password_file.empty()) p.read("tickets.servicenow.password_file", sn->password_file);
    if (!sn->client_secret_file.empty())
      p.read("tickets.servicenow.client_secret_file", sn->client_secret_file);
    if (!sn->http.ca_file.empty()) p.read("tickets.servicenow.ca_file", sn->http.ca_file);
    p.readOrCreatable("tickets.servicenow.notify_secret_file", sn->notify_secret_file);
    if (!opts.offline) p.reachable("tickets.servicenow.base_url", sn->settings.base_url, sn->http.ca_file);
  }
  if (const auto& jc = cfg.jira) {
    p.read("tickets.jira.token_file", jc->token_file);
    if (!jc->http.ca_file.empty()) p.read("tickets.jira.ca_file", jc->http.ca_file);
    p.readOrCreatable("tickets.jira.webhook_secret_file", jc->webhook_secret_file);
    if (!opts.offline) p.reachable("tickets.jira.base_url", jc->settings.base_url, jc->http.ca_file);
  }
  p.readOrCreatable("tickets.webhook.secret_file", cfg.webhook_secret_file);
}

}  // namespace

core::StatusOr<std::string> describePostgresSchema(const std::string& uri) {
  auto v = store::pg::readSchemaVersion(uri);
  if (!v.ok()) return v.status();
  const std::string at = "schema version " + std::to_string(v->current) + " (this binary's: " +
                         std::to_string(v->latest) + ")";
  // serve refuses a schema it does not know rather than write to it (pg::migrate).
  if (v->current > v->latest)
    return core::conflict(at + ": the database is newer than this binary; serve "
                                    "refuses it: upgrade jitbroker");
  if (v->pending.empty()) return at + ", up to date";
  std::string files;
  for (const auto& f : v->pending) files += (files.empty() ? "" : ", ") + f;
  return at + "; serve would apply " + files;
}

std::vector<std::string> checkServeConfig(const Config& given, const CheckOptions& opts,
                                          std::vector<std::string>* notes) {
  Config cfg = given;
  applyDefaults(cfg, cfg.listen_port);
  Problems p;
  // The store is reached even with --offline: serve cannot start without it, unlike the
  // servers --offline skips, which it can start without.
  if (!cfg.postgres_url.empty()) {
    auto schema = describePostgresSchema(cfg.postgres_url);
    if (!schema.ok()) p.add("'store.postgres': " + schema.status().message());
    else if (notes) notes->push_back("'store.postgres': " + *schema);
  }
  std::error_code ec;
  if (fs::exists(cfg.data_dir, ec)) {
    if (!fs::is_directory(cfg.data_dir, ec)) p.add("'data_dir': " + cfg.data_dir + " is not a folder");
    else if (::access(cfg.data_dir.c_str(), W_OK | X_OK) != 0)
      p.add("'data_dir': " + cfg.data_dir + ": " + std::strerror(errno));
  } else {
    p.creatable("data_dir", cfg.data_dir);
  }
  if (!cfg.sqlite_path.empty() && !fs::exists(cfg.sqlite_path, ec)) p.creatable("store.sqlite", cfg.sqlite_path);
  if (cfg.tls) checkTls(p, *cfg.tls);
  if (!cfg.ca.intermediate_cert_file.empty()) {
    p.read("ca.intermediate_cert_file", cfg.ca.intermediate_cert_file);
    p.read("ca.intermediate_key_file", cfg.ca.intermediate_key_file);
  }
  if (!cfg.ca.root_cert_file.empty()) p.read("ca.root_cert_file", cfg.ca.root_cert_file);
  if (!cfg.keys.kek_file.empty())
    if (auto kek = keystore::FileKek::load(cfg.keys.kek_file); !kek.ok())
      p.add(kek.status().message());  // it names keys.kek_file and the file
  checkTrust(p, cfg, opts);
  checkTickets(p, cfg, opts);
  if (cfg.hooks) {
    p.readOrCreatable("hooks.secret_file", cfg.hooks->secret_file);
    if (!cfg.hooks->ca_file.empty()) p.read("hooks.ca_file", cfg.hooks->ca_file);
    if (!opts.offline) p.reachable("hooks.revocation_url", cfg.hooks->revocation_url, cfg.hooks->ca_file);
  }
  for (size_t i = 0; i < cfg.databases.size(); ++i)
    if (auto dsn = readDsnFile(cfg.databases[i].dsn_file); !dsn.ok())
      p.add("'databases[" + std::to_string(i) + "].dsn_file': " + dsn.status().message());
  return p.take();
}

}  // namespace jitb::server
