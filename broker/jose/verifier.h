// Caller JWT verification (RFC 7519 + docs/configuration.md#trust entries): signature with an
// allow-listed algorithm that fits the key, exact iss, aud containing the audience,
// exp/nbf/iat with leeway, a non-empty sub. Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/jose/jwks.h"

namespace jitb::jose {

struct VerifyOptions {
  std::string issuer;
  std::string audience;  // empty: not checked (the broker's own tokens at introspection)
  std::chrono::seconds leeway{60};
  bool require_sub = true;
};

struct VerifiedToken {
  std::string issuer, subject, jti;
  boost::json::object claims;
  core::TimePoint expires_at;
};

// Unauthenticated with a short message naming the failed check; the token is never echoed.
core::StatusOr<VerifiedToken> verifyJwt(std::string_view token, const KeySet& keys,
                                        const VerifyOptions& opts, core::TimePoint now);

// Where a trust entry's keys come from. A fetching source may refresh on an unknown kid.
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual std::shared_ptr<const KeySet> current() = 0;
  // A newer set when the source could refresh (rate-limited by the source), else null.
  virtual std::shared_ptr<const KeySet> refresh(core::TimePoint now) = 0;
  // True when refresh() may wait on the network.
  virtual bool fetches() const { return false; }
};

class StaticKeySource final : public KeySource {
 public:
  explicit StaticKeySource(KeySet keys) : keys_(std::make_shared<const KeySet>(std::move(keys))) {}
  std::shared_ptr<const KeySet> current() override { return keys_; }
  std::shared_ptr<const KeySet> refresh(core::TimePoint) override { return nullptr; }

 private:
  std::shared_ptr<const KeySet> keys_;
};

// Fetches a JWKS URL (through an injected fetcher), caches it, refetches on an unknown kid at
// most once per `min_interval`, and keeps the last good set when a fetch fails.
class FetchingKeySource final : public KeySource {
 public:
  using Fetcher = std::function<core::StatusOr<std::string>(const std::string& url)>;
  FetchingKeySource(std::string url, Fetcher fetch,
                    std::chrono::seconds min_interval = std::chrono::seconds(60));
  std::shared_ptr<const KeySet> current() override;
  std::shared_ptr<const KeySet> refresh(core::TimePoint now) override;
  bool fetches() const override { return true; }

 private:
  std::string url_;
  Fetcher fetch_;
  std::chrono::seconds min_interval_;
  std::mutex mu_;
  std::shared_ptr<const KeySet> keys_;
  std::optional<core::TimePoint> last_fetch_;
};

class TrustStore {
 public:
  struct Entry {
    std::string issuer;
    std::string audience;
    std::shared_ptr<KeySource> keys;
  };
  explicit TrustStore(std::vector<Entry> entries, size_t cache_size = 10000);

  // Picks the entry by the token's (unverified) iss, then verifies everything. Successful
  // verifications are cached by the token's SHA-256 until its exp (CI jobs reuse one token);
  // a cached token is still checked against `now` on every hit.
  core::StatusOr<VerifiedToken> verify(std::string_view token, core::TimePoint now);
  // False when verify() cannot wait on the network: the token is cached, or no trusted
  // issuer's keys are fetched.
  bool mayFetch(std::string_view token);

 private:
  std::vector<Entry> entries_;
  bool fetching_ = false;  // some entry's keys come from the network
  size_t cache_size_;
  std::mutex mu_;
  std::list<std::string> order_;  // insertion order, for bounded eviction
  std::unordered_map<std::string, std::pair<VerifiedToken, std::list<std::string>::iterator>> cache_;
};

}  // namespace jitb::jose
