// The SQLite store's ACME objects (store.h: insertAcme and the rest): one table, written on the
// store's writer thread like every other write, so the status-conditioned update is atomic.
#include "broker/store/sqlite_conn.h"
#include "broker/store/sqlite_store.h"

namespace jitb::store {

namespace {
AcmeRow rowOf(const Stmt& s) {
  return {s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.int64(6)};
}

}  // namespace

core::Status SqliteStore::insertAcme(const AcmeRow& row) {
  bool inserted = false;
  core::Status st = write(
      [&](SqliteConn& c) {
        Stmt s(c.prepare("INSERT INTO acme_objects (id, kind, account, ticket, status, body, "
                         "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING"));
        s.bind(1, row.id).bind(2, row.kind).bind(3, row.account).bind(4, row.ticket);
        s.bind(5, row.status).bind(6, row.body).bind(7, row.updated_at);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "insert acme object");
        inserted = sqlite3_changes(c.db()) == 1;
        return core::okStatus();
      },
      true);
  if (!st.ok()) return st;
  return inserted ? core::okStatus() : core::conflict("an ACME object with this id exists");
}

core::StatusOr<std::optional<AcmeRow>> SqliteStore::getAcme(const std::string& id) {
  auto r = reader();
  if (!r.ok()) return core::unavailable("the store cannot open a reader");
  Stmt s(r->prepare("SELECT id, kind, account, ticket, status, body, updated_at "
                    "FROM acme_objects WHERE id = ?"));
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<AcmeRow>();
  if (rc != SQLITE_ROW) return r->error(rc, "get acme object");
  return std::optional<AcmeRow>(rowOf(s));
}

core::StatusOr<bool> SqliteStore::updateAcme(const AcmeRow& row,
                                             const std::string& expected_status) {
  bool changed = false;
  core::Status st = write(
      [&](SqliteConn& c) {
        Stmt s(c.prepare("UPDATE acme_objects SET account = ?, ticket = ?, status = ?, body = ?, "
                         "updated_at = ? WHERE id = ? AND status = ?"));
        s.bind(1, row.account).bind(2, row.ticket).bind(3, row.status).bind(4, row.body);
        s.bind(5, row.updated_at).bind(6, row.id).bind(7, expected_status);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "update acme object");
        changed = sqlite3_changes(c.db()) == 1;
        return core::okStatus();
      },
      true);
  if (!st.ok()) return st;
  return changed;
}

core::StatusOr<std::vector<AcmeRow>> SqliteStore::listAcme(const std::string& kind,
                                                           const std::string& account) {
  auto r = reader();
  if (!r.ok()) return core::unavailable("the store cannot open a reader");
  Stmt s(r->prepare("SELECT id, kind, account, ticket, status, body, updated_at FROM acme_objects "
                    "WHERE kind = ? AND (? = '' OR account = ?) ORDER BY id"));
  s.bind(1, kind).bind(2, account).bind(3, account);
  std::vector<AcmeRow> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(rowOf(s));
  if (rc != SQLITE_DONE) return r->error(rc, "list acme objects");

  return out;
}

}  // namespace jitb::store
