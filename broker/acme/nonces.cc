#include "broker/acme/nonces.h"

#include <openssl/crypto.h>

#include "broker/core/encoding.h"
#include "broker/core/files.h"
#include "broker/jose/flattened.h"

namespace jitb::acme {

namespace {
constexpr size_t kStampBytes = 8, kRandomBytes = 12, kMacBytes = 16;
constexpr const char* kKeyId = "nonce_key";
}  // namespace

Nonces::Nonces(store::Store& store, const core::Clock& clock, NonceOptions opts)
    : store_(store), clock_(clock), opts_(opts) {
  if (opts_.metrics)
    opts_.metrics->declareCounter("jitbroker_acme_bad_nonce_total",
                                  "ACME requests answered badNonce, by reason (unknown, expired, "
                                  "used, rejected: acme.reject_nonce_every).");
}

core::Status Nonces::refuse(const char* reason, const char* why) {
  if (opts_.metrics) opts_.metrics->add("jitbroker_acme_bad_nonce_total", {{"reason", reason}});
  return core::invalidArgument(why);
}

core::Status Nonces::init() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto row = store_.getAcme(kKeyId);
    if (!row.ok()) return row.status();
    if (row->has_value()) {
      auto key = core::base64urlDecode((*row)->body);
      if (!key || key->size() != 32) return core::internalError("the stored ACME nonce key is damaged");
      key_ = *key;
      return core::okStatus();
    }
    unsigned char k[32];
    core::randomBytes(k, sizeof k);
    store::AcmeRow r{kKeyId, "nonce_key", "", "", "valid",
                     core::base64urlEncode(std::string_view(reinterpret_cast<char*>(k), 32)),
                     core::unixMillis(clock_.now())};
    // Another replica may have made it first: then read that one.
    core::Status st = store_.insertAcme(r);
    if (!st.ok() && st.code() != core::Code::kConflict) return st;
  }
  return core::internalError("cannot read the ACME nonce key");
}

std::string Nonces::mac(std::string_view data) const {
  return jose::hmacSha256(key_, data).substr(0, kMacBytes);
}

std::string Nonces::issue() {
  std::string raw(kStampBytes + kRandomBytes, '\0');
  uint64_t ms = static_cast<uint64_t>(core::unixMillis(clock_.now()));
  for (size_t i = 0; i < kStampBytes; ++i) raw[i] = static_cast<char>(ms >> (8 * (7 - i)));
  core::randomBytes(reinterpret_cast<unsigned char*>(raw.data()) + kStampBytes, kRandomBytes);
  raw += mac(raw);
  return core::base64urlEncode(raw);
}

core::Status Nonces::consume(std::string_view nonce) {
  constexpr const char* kNotOurs = "the nonce is not one this server made";
  auto raw = core::base64urlDecode(nonce);
  if (!raw || raw->size() != kStampBytes + kRandomBytes + kMacBytes) return refuse("unknown", kNotOurs);
  std::string_view body(raw->data(), kStampBytes + kRandomBytes);
  std::string want = mac(body);
  if (CRYPTO_memcmp(want.data(), raw->data() + body.size(), kMacBytes) != 0)
    return refuse("unknown", kNotOurs);
  uint64_t ms = 0;
  for (size_t i = 0; i < kStampBytes; ++i) ms = (ms << 8) | static_cast<unsigned char>((*raw)[i]);
  int64_t now = core::unixMillis(clock_.now());
  if (static_cast<int64_t>(ms) + std::chrono::milliseconds(opts_.life).count() < now)
    return refuse("expired", "the nonce has expired");
  auto first = store_.claimDelivery("acme-nonce:" + std::string(nonce), now);
  if (!first.ok()) return first.status();
  if (!*first) return refuse("used", "the nonce was used before");
  return core::okStatus();
}

core::Status Nonces::rejectForTesting(const std::string& signer) {
  if (opts_.reject_every <= 0) return core::okStatus();
  {
    std::lock_guard lock(mu_);
    // A testing aid's bookkeeping must not grow without bound on a broker left running.
    if (signed_.size() >= 10'000 && !signed_.contains(signer)) signed_.clear();
    if (++signed_[signer] % opts_.reject_every != 0) return core::okStatus();
  }
  return refuse("rejected",
                "this server rejects every Nth request of a key (acme.reject_nonce_every, a "
                "testing aid): retry with the Replay-Nonce of this answer");
}

}  // namespace jitb::acme
