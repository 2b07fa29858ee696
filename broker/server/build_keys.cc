#include "broker/server/build_keys.h"

#include <chrono>
#include <utility>
#include <vector>

#include "broker/core/files.h"
#include "broker/core/log.h"
#include "broker/server/build_support.h"
#include "clients/lib/https_client.h"

namespace jitb::server {

namespace {
// How often a replica reads the key set again: another replica's rotation is in its JWKS at
// most this long after it was written.
constexpr std::chrono::milliseconds kKeyRefresh{2000};

// A rotated key signs once every replica has re-read the key set (a refresh, and one more for a
// refresh that was under way) and every client's cached JWKS has expired.
std::chrono::milliseconds publishDelay(const Config& cfg) {
  return cfg.keys.jwks_max_age + 2 * kKeyRefresh;
}
}  // namespace

jose::FetchingKeySource::Fetcher jwksFetcher(std::string ca_file, std::string issuer) {
  return [ca_file = std::move(ca_file),
          issuer = std::move(issuer)](const std::string& url) -> core::StatusOr<std::string> {
    client::HttpOptions o;
    o.ca_file = ca_file;
    o.timeout = std::chrono::seconds(10);
    auto r = client::httpsRequest("GET", url, {}, "", o);
    core::Status st =
        !r.ok() ? r.status()
        : r->status != 200
            ? core::unavailable("JWKS fetch answered HTTP " + std::to_string(r->status))
            : core::okStatus();
    // Fetches are rate-limited (one a minute per issuer), and so is this line.
    if (!st.ok()) {
      core::logEvent("error", "jwks", "jwks.fetch_failed",
                     {{"issuer", issuer}, {"url", url}, {"error", st.message()}});
      return st;
    }
    return r->body;
  };
}

core::StatusOr<std::unique_ptr<SharedKeyStore>> buildSharedKeyStore(const Config& cfg,
                                                                    store::Store& store) {
  if (cfg.keys.kek_file.empty()) return std::unique_ptr<SharedKeyStore>();
  auto kek = keystore::FileKek::load(cfg.keys.kek_file);
  if (!kek.ok()) return kek.status();
  auto s = std::make_unique<SharedKeyStore>();
  s->kek = std::move(*kek);
  s->keys = std::make_unique<keystore::SharedKeys>(store, *s->kek);
  return s;
}

core::StatusOr<Keys> buildKeys(const Config& cfg, core::TimePoint now, SharedKeyStore* shared,
                               const core::Clock* clock) {
  std::vector<jose::TrustStore::Entry> entries;
  for (const auto& t : cfg.trust) {
    std::shared_ptr<jose::KeySource> source;
    if (!t.jwks_file.empty()) {
      auto text = core::readFile(t.jwks_file);
      auto set =
          text.ok() ? jose::KeySet::parse(*text) : core::StatusOr<jose::KeySet>(text.status());
      if (!set.ok())
        return prefixed("trust entry " + t.issuer + ": " + t.jwks_file + ": ", set.status());
      source = std::make_shared<jose::StaticKeySource>(std::move(*set));
    } else {
      source =
          std::make_shared<jose::FetchingKeySource>(t.jwks_url, jwksFetcher(t.ca_file, t.issuer));
    }
    entries.push_back({t.issuer, t.audience, std::move(source)});
  }
  if (cfg.trust.empty() && !cfg.dev)
    core::logEvent("warning", "trust", "trust.empty",
                   {{"message", "no trusted issuer in 'trust': no caller can present a token"}});
  Keys keys;
  if (cfg.dev) {
    auto d = jose::TokenSigner::loadOrCreate(cfg.data_dir + "/dev-oidc", now);
    if (!d.ok()) return prefixed("dev issuer: ", d.status());
    keys.dev_issuer = std::move(*d);
    entries.push_back({kDevIssuer, "jitbroker",
                       std::make_shared<jose::StaticKeySource>(*keys.dev_issuer->keySet())});
  }
  keys.trust = std::make_unique<jose::TrustStore>(std::move(entries));
  if (shared && clock) {
    auto made = keystore::TokenKeys::open(*shared->keys, *clock, publishDelay(cfg),
                                           cfg.data_dir + "/jwt");
    if (!made.ok()) return made.status();
    keys.token_keys = std::move(*made);
    keys.signer = keys.token_keys->signerPtr();
    keys.token_keys->start(kKeyRefresh);
    keys.shared = shared;
    return keys;
  }
  auto signer = jose::TokenSigner::loadOrCreate(cfg.data_dir + "/jwt", now);
  if (!signer.ok()) return signer.status();
  keys.signer = std::move(*signer);
  return keys;
}

}  // namespace jitb::server
