// The CRL every replica serves (migration 0013_audit_leader_crl.sql).
#include "broker/core/encoding.h"
#include "broker/store/postgres/pg_store.h"

namespace jitb::store {

core::StatusOr<std::optional<StoredCrl>> PgStore::getCrl(const std::string& issuer) {
  std::optional<StoredCrl> out;
  core::Status st = onConn([&](pg::Conn& c) -> core::Status {
    auto r = c.query("SELECT number, this_update, der_base64 FROM crls WHERE issuer = $1",
                     {issuer}, "read the CRL");
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return core::okStatus();
    auto der = core::base64Decode(r->text(0, 2));
    if (!der) return core::Status(core::Code::kInternal, "the stored CRL is not base64");
    out = StoredCrl{r->int64(0, 0), r->int64(0, 1), std::move(*der)};
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<bool> PgStore::putCrl(const std::string& issuer, const StoredCrl& crl) {
  bool stored = false;
  core::Status st = onConn([&](pg::Conn& c) -> core::Status {
    // The conditional upsert is the one place the order of two builders is decided: a CRL
    // whose number is not above the stored one's is dropped, whoever finishes last.
    auto r = c.query(
        "INSERT INTO crls (issuer, number, this_update, der_base64) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (issuer) DO UPDATE SET number = EXCLUDED.number, "
        "this_update = EXCLUDED.this_update, der_base64 = EXCLUDED.der_base64 "
        "WHERE crls.number < EXCLUDED.number RETURNING 1",
        {issuer, crl.number, crl.this_update, core::base64Encode(crl.der)}, "store the CRL");
    if (!r.ok()) return r.status();
    stored = r->rows() == 1;
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return stored;
}

}  // namespace jitb::store
