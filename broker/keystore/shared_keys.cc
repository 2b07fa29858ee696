#include "broker/keystore/shared_keys.h"

#include <openssl/crypto.h>

#include "broker/keystore/envelope.h"

namespace jitb::keystore {

OpenedKey::~OpenedKey() { OPENSSL_cleanse(secret.data(), secret.size()); }
NewKey::~NewKey() { OPENSSL_cleanse(secret.data(), secret.size()); }

core::StatusOr<std::vector<OpenedKey>> SharedKeys::list(const std::string& purpose) {
  auto rows = store_.listKeyMaterial(purpose);
  if (!rows.ok()) return rows.status();
  std::vector<OpenedKey> out;
  for (auto& row : *rows) {
    auto secret = open(kek_, row);
    if (!secret.ok())
      return core::Status(core::Code::kPermissionDenied, kWrongKek,
                          "key " + row.key_id + " (" + row.purpose + ") does not open with " +
                              kek_.describe());
    out.emplace_back(std::move(row), std::move(*secret));
  }
  return out;
}

core::StatusOr<bool> SharedKeys::add(const std::string& purpose, int64_t version,
                                     const NewKey& key, core::TimePoint now,
                                     core::TimePoint active_from) {
  store::KeyMaterialRow row;
  row.key_id = key.key_id;
  row.purpose = purpose;
  row.algorithm = key.algorithm;
  row.version = version;
  row.public_data = key.public_data;
  row.created_at = core::unixMillis(now);
  row.active_from = core::unixMillis(active_from);
  if (core::Status st = seal(kek_, key.secret, row); !st.ok()) return st;
  return store_.insertKeyMaterial(row);
}

core::StatusOr<OpenedKey> SharedKeys::firstOrCreate(
    const std::string& purpose, const std::function<core::StatusOr<NewKey>()>& make,
    core::TimePoint now) {
  auto have = list(purpose);
  if (!have.ok()) return have.status();
  if (have->empty()) {
    auto made = make();
    if (!made.ok()) return made.status();
    auto inserted = add(purpose, 1, *made, made->created_at.value_or(now),
                        made->active_from.value_or(now));
    if (!inserted.ok()) return inserted.status();
    // Inserted or not, the row to use is the one that is stored now.
    have = list(purpose);
    if (!have.ok()) return have.status();
    if (have->empty()) return core::Status(core::Code::kInternal, "the new " + purpose +
                                                                      " key is not in the store");
  }
  return std::move(have->front());
}

}  // namespace jitb::keystore
