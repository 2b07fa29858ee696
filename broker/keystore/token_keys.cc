#include "broker/keystore/token_keys.h"

#include <openssl/pem.h>

#include <boost/json.hpp>

#include "broker/core/log.h"
#include "broker/jose/jwks.h"

namespace jitb::keystore {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

core::StatusOr<NewKey> makeSigningKey() {
  jose::PkeyPtr key(EVP_EC_gen("P-256"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!key || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return core::Status(core::Code::kInternal, "cannot generate a token-signing key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  NewKey k;
  k.secret.assign(data, static_cast<size_t>(n));
  OPENSSL_cleanse(data, static_cast<size_t>(n));
  boost::json::object jwk = jose::ecPublicJwk(key.get());
  k.key_id = jose::ecThumbprint(jwk);
  jwk["kid"] = k.key_id;
  k.algorithm = "ES256";
  k.public_data = boost::json::serialize(jwk);
  return k;
}

core::StatusOr<std::vector<jose::SigningKey>> parse(const std::vector<OpenedKey>& rows) {
  std::vector<jose::SigningKey> out;
  for (const auto& r : rows) {
    BioPtr bio(BIO_new_mem_buf(r.secret.data(), static_cast<int>(r.secret.size())));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (!k)
      return core::Status(core::Code::kInternal, "token-signing key " + r.row.key_id +
                                                     " in the store is not a private key");
    out.push_back({r.row.created_at, r.row.active_from,
                   std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free)});
  }
  return out;
}

}  // namespace

core::StatusOr<std::unique_ptr<TokenKeys>> TokenKeys::open(SharedKeys& keys,
                                                           const core::Clock& clock,
                                                           std::chrono::milliseconds delay) {
  std::unique_ptr<TokenKeys> t(new TokenKeys(keys, clock, delay));
  auto first = keys.firstOrCreate(kTokenSigningPurpose, makeSigningKey, clock.now());
  if (!first.ok()) return first.status();
  t->signer_ = jose::TokenSigner::external(
      [raw = t.get()](core::TimePoint now) { return raw->rotate(now); });
  if (core::Status st = t->refresh(); !st.ok()) return st;
  return t;
}

TokenKeys::TokenKeys(SharedKeys& keys, const core::Clock& clock, std::chrono::milliseconds delay)
    : keys_(keys),
      clock_(clock),
      delay_(delay),
      // The keys were read by open(): the first refresh is one period later.
      ticker_(
          clock,
          [this] {
            core::Status st = refresh();
            if (!st.ok())
              core::logEvent("error", "keys", "keys.refresh_failed", {{"error", st.message()}});
          },
          core::Ticker::Start::kWaitFirst) {}

TokenKeys::~TokenKeys() { stop(); }

core::Status TokenKeys::refresh() {
  auto rows = keys_.list(kTokenSigningPurpose);
  if (!rows.ok()) return rows.status();
  auto parsed = parse(*rows);
  if (!parsed.ok()) return parsed.status();
  return signer_->setKeys(std::move(*parsed), clock_.now());
}

core::Status TokenKeys::rotate(core::TimePoint now) {
  auto rows = keys_.list(kTokenSigningPurpose);
  if (!rows.ok()) return rows.status();
  int64_t next = rows->empty() ? 1 : rows->back().row.version + 1;
  auto made = makeSigningKey();
  if (!made.ok()) return made.status();
  // Published now, signing after the delay. When another replica rotated at the same moment
  // its key took this version, and that one rotation stands for both.
  auto inserted = keys_.add(kTokenSigningPurpose, next, *made, now, now + delay_);
  if (!inserted.ok()) return inserted.status();
  return refresh();
}

void TokenKeys::start(std::chrono::milliseconds every) { ticker_.start(every); }

void TokenKeys::stop() { ticker_.stop(); }

}  // namespace jitb::keystore
