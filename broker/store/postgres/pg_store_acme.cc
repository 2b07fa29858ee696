// The PostgreSQL store's ACME objects. The status-conditioned UPDATE is the single-use guard:
// under READ COMMITTED a second writer waits for the first and then re-checks its WHERE against
// the committed row, so exactly one of two replicas racing for an EAB key or a finalize wins.
#include "broker/store/postgres/pg_store.h"

namespace jitb::store {

using pg::Conn;

namespace {
AcmeRow rowOf(const pg::Result& r, int i) {
  return {r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3),
          r.text(i, 4), r.text(i, 5), r.int64(i, 6)};
}
}  // namespace

core::Status PgStore::insertAcme(const AcmeRow& row) {
  bool inserted = false;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "INSERT INTO acme_objects (id, kind, account, ticket, status, body, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING 1",
        {row.id, row.kind, row.account, row.ticket, row.status, row.body, row.updated_at},
        "insert acme object");
    if (!r.ok()) return r.status();
    inserted = r->rows() == 1;
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return inserted ? core::okStatus() : core::conflict("an ACME object with this id exists");
}

core::StatusOr<std::optional<AcmeRow>> PgStore::getAcme(const std::string& id) {
  std::optional<AcmeRow> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query("SELECT id, kind, account, ticket, status, body, updated_at "
                     "FROM acme_objects WHERE id = $1",
                     {id}, "get acme object");
    if (!r.ok()) return r.status();
    if (r->rows() == 1) out = rowOf(*r, 0);
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<bool> PgStore::updateAcme(const AcmeRow& row, const std::string& expected_status) {
  bool changed = false;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "UPDATE acme_objects SET account = $1, ticket = $2, status = $3, body = $4, "
        "updated_at = $5 WHERE id = $6 AND status = $7 RETURNING 1",
        {row.account, row.ticket, row.status, row.body, row.updated_at, row.id, expected_status},
        "update acme object");
    if (!r.ok()) return r.status();
    changed = r->rows() == 1;
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return changed;
}

core::StatusOr<std::vector<AcmeRow>> PgStore::listAcme(const std::string& kind,
                                                       const std::string& account) {
  std::vector<AcmeRow> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    out.clear();
    auto r = c.query("SELECT id, kind, account, ticket, status, body, updated_at FROM acme_objects "
                     "WHERE kind = $1 AND ($2::text = '' OR account = $2::text) ORDER BY id",
                     {kind, account}, "list acme objects");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) out.push_back(rowOf(*r, i));
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace jitb::store
