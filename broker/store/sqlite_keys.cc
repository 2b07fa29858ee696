// The SQLite store's shared keys (store.h: insertKeyMaterial, listKeyMaterial).
#include "broker/store/sqlite_conn.h"
#include "broker/store/sqlite_store.h"

namespace jitb::store {

core::StatusOr<bool> SqliteStore::insertKeyMaterial(const KeyMaterialRow& row) {
  bool inserted = false;
  core::Status st = write(
      [&](SqliteConn& c) {
        Stmt s(c.prepare("INSERT INTO key_material (key_id, purpose, algorithm, version, "
                         "public_data, wrapped_dek, ciphertext, created_at, active_from) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"));
        s.bind(1, row.key_id).bind(2, row.purpose).bind(3, row.algorithm).bind(4, row.version);
        s.bind(5, row.public_data).bind(6, row.wrapped_dek).bind(7, row.ciphertext);
        s.bind(8, row.created_at).bind(9, row.active_from);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "insert key material");
        inserted = sqlite3_changes(c.db()) == 1;
        return core::okStatus();
      },
      true);
  if (!st.ok()) return st;
  return inserted;
}

core::StatusOr<std::vector<KeyMaterialRow>> SqliteStore::listKeyMaterial(
    const std::string& purpose) {
  auto r = reader();
  if (!r.ok()) return core::unavailable("the store cannot open a reader");
  Stmt s(r->prepare("SELECT key_id, purpose, algorithm, version, public_data, wrapped_dek, "
                    "ciphertext, created_at, active_from FROM key_material WHERE purpose = ? "
                    "ORDER BY version"));
  s.bind(1, purpose);
  std::vector<KeyMaterialRow> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({s.text(0), s.text(1), s.text(2), s.int64(3), s.text(4), s.text(5), s.text(6),
                   s.int64(7), s.int64(8)});
  if (rc != SQLITE_DONE) return r->error(rc, "list key material");
  return out;
}

}  // namespace jitb::store
