// The PostgreSQL store's shared keys. ON CONFLICT DO NOTHING covers both unique constraints
// (key_id, and purpose with version): of replicas racing to write a version, one row commits and
// the others get false, then read that row back.
#include "broker/store/postgres/pg_store.h"

namespace jitb::store {

using pg::Conn;

core::StatusOr<bool> PgStore::insertKeyMaterial(const KeyMaterialRow& row) {
  bool inserted = false;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "INSERT INTO key_material (key_id, purpose, algorithm, version, public_data, "
        "wrapped_dek, ciphertext, created_at, active_from) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING 1",
        {row.key_id, row.purpose, row.algorithm, row.version, row.public_data, row.wrapped_dek,
         row.ciphertext, row.created_at, row.active_from},
        "insert key material");
    if (!r.ok()) return r.status();
    inserted = r->rows() == 1;
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return inserted;
}

core::StatusOr<std::vector<KeyMaterialRow>> PgStore::listKeyMaterial(const std::string& purpose) {
  std::vector<KeyMaterialRow> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    out.clear();
    auto r = c.query("SELECT key_id, purpose, algorithm, version, public_data, wrapped_dek, "
                     "ciphertext, created_at, active_from FROM key_material WHERE purpose = $1 "
                     "ORDER BY version",
                     {purpose}, "list key material");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i)
      out.push_back({r->text(i, 0), r->text(i, 1), r->text(i, 2), r->int64(i, 3), r->text(i, 4),
                     r->text(i, 5), r->text(i, 6), r->int64(i, 7), r->int64(i, 8)});
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace jitb::store
