#include "broker/keystore/token_keys.h"

#include <openssl/pem.h>

#include <algorithm>
#include <boost/json.hpp>

#include "broker/core/log.h"
#include "broker/jose/jwks.h"
#include "broker/keystore/data_dir_keys.h"

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
  std::string pem(data, static_cast<size_t>(n));
  OPENSSL_cleanse(data, static_cast<size_t>(n));
  auto k = tokenKeyFromPem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  return k;
}

// Versions 2.. of an import whose first version is stored. Idempotent, so that a start that
// stopped half-way through is completed by the next one. An insert that loses means another
// replica imported the same folder at the same moment (or rotated since): its row stands.
core::Status importRest(SharedKeys& keys, const std::vector<NewKey>& found, bool offered,
                        core::TimePoint now) {
  std::string kids = found.front().key_id;
  bool added_any = false;
  for (size_t i = 1; i < found.size(); ++i) {
    auto added = keys.add(kTokenSigningPurpose, static_cast<int64_t>(i + 1), found[i],
                          found[i].created_at.value_or(now), found[i].active_from.value_or(now));
    if (!added.ok()) return added.status();
    added_any = added_any || *added;
    kids += "," + found[i].key_id;
  }
  if (offered || added_any)
    core::logEvent("info", "keys", "keys.imported",
                   {{"purpose", kTokenSigningPurpose}, {"key_ids", kids}});
  return core::okStatus();
}

core::Status reportSkipped(SharedKeys& keys, const std::vector<NewKey>& found,
                           const std::string& from) {
  auto rows = keys.list(kTokenSigningPurpose);
  if (!rows.ok()) return rows.status();
  std::string skipped;
  for (const auto& f : found) {
    bool stored = std::any_of(rows->begin(), rows->end(),
                              [&](const OpenedKey& r) { return r.row.key_id == f.key_id; });
    if (!stored) skipped += (skipped.empty() ? "" : ",") + f.key_id;
  }
  if (!skipped.empty())
    core::logEvent("warning", "keys", "keys.import_skipped",
                   {{"purpose", kTokenSigningPurpose},
                    {"from", from},
                    {"key_ids", skipped},
                    {"message", "the store's token-signing keys stand; tokens these keys signed "
                                "no longer verify"}});
  return core::okStatus();
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
                                                           std::chrono::milliseconds delay,
                                                           const std::string& import_dir) {
  std::unique_ptr<TokenKeys> t(new TokenKeys(keys, clock, delay));
  std::vector<NewKey> found;
  if (!import_dir.empty()) {
    auto read = readTokenKeyFolder(import_dir);
    if (!read.ok()) return read.status();
    found = std::move(*read);
  }
  bool offered = false;
  auto make = [&]() -> core::StatusOr<NewKey> {
    if (found.empty()) return makeSigningKey();
    offered = true;
    return found.front();
  };
  const core::TimePoint start = clock.now();
  auto first = keys.firstOrCreate(kTokenSigningPurpose, make, start);
  if (!first.ok()) return first.status();
  if (!found.empty() && first->row.key_id == found.front().key_id)
    if (core::Status st = importRest(keys, found, offered, start); !st.ok()) return st;
  if (!found.empty())
    if (core::Status st = reportSkipped(keys, found, import_dir); !st.ok()) return st;
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
