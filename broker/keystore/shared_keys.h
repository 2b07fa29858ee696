// Keys kept in the store, sealed under the KEK (envelope.h), one row per version of a purpose.
// The store's unique (purpose, version) settles races: replicas that create or rotate a key at
// the same moment all insert, one row wins, and the others read it back and use it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/keystore/kek.h"
#include "broker/store/store.h"

namespace jitb::keystore {

// The message of a start that cannot open the store's keys.
inline constexpr const char* kWrongKek =
    "keys.kek_file does not decrypt the keys in the store: wrong KEK?";

// A row and its secret, which is wiped when the object goes. Never logged.
struct OpenedKey {
  store::KeyMaterialRow row;
  std::string secret;
  OpenedKey() = default;
  OpenedKey(store::KeyMaterialRow r, std::string s) : row(std::move(r)), secret(std::move(s)) {}
  OpenedKey(OpenedKey&&) = default;
  OpenedKey& operator=(OpenedKey&&) = default;
  ~OpenedKey();
};

// What a maker gives for a new version: the row's public fields and the secret to seal.
struct NewKey {
  std::string key_id;
  std::string algorithm;
  std::string public_data;
  std::string secret;
  // A key brought from data_dir keeps the times it had there; unset: the moment it is stored.
  std::optional<core::TimePoint> created_at, active_from;
  ~NewKey();
};

class SharedKeys {
 public:
  SharedKeys(store::Store& store, const Kek& kek) : store_(store), kek_(kek) {}

  // Every version of `purpose`, lowest first, opened. PermissionDenied (kWrongKek, the row's
  // key id in the detail) when one does not open.
  core::StatusOr<std::vector<OpenedKey>> list(const std::string& purpose);

  // Seals and inserts `key` as `version` of `purpose`; false when that version (or key id) was
  // taken by another writer, whose row then stands.
  core::StatusOr<bool> add(const std::string& purpose, int64_t version, const NewKey& key,
                           core::TimePoint now, core::TimePoint active_from);

  // Version 1 of `purpose`: the stored one, or one `make` makes, which is inserted unless
  // another replica's insert won, in which case that one is read back and returned.
  core::StatusOr<OpenedKey> firstOrCreate(const std::string& purpose,
                                          const std::function<core::StatusOr<NewKey>()>& make,
                                          core::TimePoint now);

 private:
  store::Store& store_;
  const Kek& kek_;
};

}  // namespace jitb::keystore
