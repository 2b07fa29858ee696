#include "broker/jose/verifier.h"

#include <boost/json.hpp>
#include <cmath>

#include "broker/core/encoding.h"

namespace jitb::jose {

namespace json = boost::json;

namespace {

core::Status unauth(const std::string& why) { return {core::Code::kUnauthenticated, why}; }

// NumericDate: a JSON number of seconds, possibly fractional.
std::optional<double> numericDate(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  if (v->is_double() && std::isfinite(v->as_double())) return v->as_double();
  return std::nan("");
}

}  // namespace

core::StatusOr<VerifiedToken> verifyJwt(std::string_view token, const KeySet& keys,
                                        const VerifyOptions& opts, core::TimePoint now) {
  auto jws = decodeCompact(token);
  if (!jws.ok()) return unauth(jws.status().message());
  const json::object& h = jws->header;
  auto* alg_v = h.if_contains("alg");
  if (!alg_v || !alg_v->is_string()) return unauth("token header has no alg");
  auto alg = algFromName(alg_v->as_string());
  if (!alg) return unauth("alg " + std::string(alg_v->as_string()) + " is not allowed");
  if (h.contains("crit")) return unauth("token header has crit extensions");
  std::string kid;
  if (auto* k = h.if_contains("kid")) {
    if (!k->is_string()) return unauth("token kid is not a string");
    kid = k->as_string();
  }
  const Jwk* jwk = keys.find(kid, *alg);
  if (!jwk) return unauth("no trusted key for kid '" + kid + "' and alg " + algName(*alg));
  if (!verifySignature(*alg, jwk->key.get(), jws->signing_input, jws->signature))
    return unauth("token signature is invalid");

  const json::object& c = jws->payload;
  auto* iss = c.if_contains("iss");
  if (!iss || !iss->is_string() || iss->as_string() != opts.issuer) return unauth("token issuer mismatch");
  if (!opts.audience.empty()) {
    bool found = false;
    if (auto* aud = c.if_contains("aud")) {
      if (aud->is_string()) found = aud->as_string() == opts.audience;
      else if (aud->is_array())
        for (const auto& a : aud->as_array()) found |= a.is_string() && a.as_string() == opts.audience;
    }
    if (!found) return unauth("token audience does not include " + opts.audience);
  }
  double t = std::chrono::duration<double>(now.time_since_epoch()).count();
  double leeway = static_cast<double>(opts.leeway.count());
  auto exp = numericDate(c, "exp");
  if (!exp || std::isnan(*exp)) return unauth("token has no valid exp");
  if (t >= *exp + leeway) return unauth("token expired");
  if (auto nbf = numericDate(c, "nbf")) {
    if (std::isnan(*nbf)) return unauth("token nbf is not a number");
    if (t < *nbf - leeway) return unauth("token is not valid yet (nbf)");
  }
  if (auto iat = numericDate(c, "iat")) {
    if (std::isnan(*iat)) return unauth("token iat is not a number");
    if (*iat > t + leeway) return unauth("token was issued in the future (iat)");
  }
  VerifiedToken out;
  out.issuer = iss->as_string();
  if (auto* sub = c.if_contains("sub"); sub && sub->is_string()) out.subject = sub->as_string();
  if (opts.require_sub && out.subject.empty()) return unauth("token has no sub");
  if (auto* jti = c.if_contains("jti"); jti && jti->is_string()) out.jti = jti->as_string();
  out.claims = c;
  out.expires_at = core::TimePoint(std::chrono::duration_cast<core::TimePoint::duration>(
      std::chrono::duration<double>(*exp)));
  return out;
}

FetchingKeySource::FetchingKeySource(std::string url, Fetcher fetch,
                                     std::chrono::seconds min_interval)
    : url_(std::move(url)), fetch_(std::move(fetch)), min_interval_(min_interval) {}

std::shared_ptr<const KeySet> FetchingKeySource::current() {
  std::lock_guard lk(mu_);
  return keys_;
}

std::shared_ptr<const KeySet> FetchingKeySource::refresh(core::TimePoint now) {
  std::lock_guard lk(mu_);
  if (last_fetch_ && now - *last_fetch_ < min_interval_) return nullptr;
  last_fetch_ = now;
  auto body = fetch_(url_);
  if (!body.ok()) return nullptr;
  auto set = KeySet::parse(*body);
  if (!set.ok()) return nullptr;  // keep the last good set
  keys_ = std::make_shared<const KeySet>(std::move(*set));
  return keys_;
}

TrustStore::TrustStore(std::vector<Entry> entries, size_t cache_size)
    : entries_(std::move(entries)), cache_size_(cache_size) {
  for (const auto& e : entries_) fetching_ |= e.keys->fetches();
}

bool TrustStore::mayFetch(std::string_view token) {
  if (!fetching_) return false;
  std::string key = core::sha256(token);
  std::lock_guard lk(mu_);
  return !cache_.contains(key);
}

core::StatusOr<VerifiedToken> TrustStore::verify(std::string_view token, core::TimePoint now) {
  std::string key = core::sha256(token);
  {
    std::lock_guard lk(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (now < it->second.first.expires_at) return it->second.first;
      order_.erase(it->second.second);
      cache_.erase(it);
    }
  }
  auto jws = decodeCompact(token);
  if (!jws.ok()) return unauth(jws.status().message());
  auto* iss = jws->payload.if_contains("iss");
  const Entry* entry = nullptr;
  for (const auto& e : entries_)
    if (iss && iss->is_string() && iss->as_string() == e.issuer) entry = &e;
  if (!entry) return unauth("token issuer is not trusted");
  VerifyOptions opts{entry->issuer, entry->audience};
  auto keys = entry->keys->current();
  core::StatusOr<VerifiedToken> v =
      keys ? verifyJwt(token, *keys, opts, now) : core::StatusOr<VerifiedToken>(unauth("no keys yet"));
  if (!v.ok()) {
    // An unknown kid may mean the issuer rotated: refetch (rate-limited) and try once more.
    if (auto fresh = entry->keys->refresh(now)) v = verifyJwt(token, *fresh, opts, now);
  }
  if (!v.ok()) return v;
  std::lock_guard lk(mu_);
  if (cache_size_ > 0) {
    if (cache_.size() >= cache_size_) {
      cache_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    cache_.emplace(key, std::make_pair(*v, std::prev(order_.end())));
  }
  return v;
}

}  // namespace jitb::jose
