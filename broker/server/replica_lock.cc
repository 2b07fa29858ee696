#include "broker/server/replica_lock.h"

#include <chrono>
#include <thread>

#include "broker/server/build_support.h"
#include "broker/store/postgres/pg_conn.h"

namespace jitb::server {

namespace {

// Every broker of a schema holds the lock (7346010, schema) shared for its life. The first one
// (no holder at all) takes it exclusively for a moment, writes its fingerprint, and keeps only
// the shared hold; a later one takes the shared hold and compares. A broker caught between the
// two steps holds it exclusively, so a newcomer retries for a little while. A broker of an
// older release holds it exclusively for its whole life: the newcomer is refused, as before.
constexpr int kAttempts = 50;
constexpr auto kRetry = std::chrono::milliseconds(100);

core::StatusOr<bool> yes(store::pg::Conn& c, const char* sql, const std::string& what) {
  auto r = c.query(sql, {}, what);
  if (!r.ok()) return r.status();
  return r->rows() == 1 && r->text(0, 0) == "t";
}

}  // namespace

core::StatusOr<std::shared_ptr<void>> lockReplicas(const std::string& uri,
                                                   const std::string& key_fingerprint) {
  auto conn = store::pg::Conn::connect(uri, 5);
  if (!conn.ok()) return prefixed("store.postgres: ", conn.status());
  store::pg::Conn& c = **conn;
  for (int i = 0; i < kAttempts; ++i) {
    auto first = yes(c, "SELECT pg_try_advisory_lock(7346010, hashtext(current_schema()))",
                     "lock the store for this broker");
    if (!first.ok()) return prefixed("store.postgres: ", first.status());
    if (*first) {
      auto w = c.query(
          "INSERT INTO broker_identity (id, key_fingerprint) VALUES (1, $1) "
          "ON CONFLICT (id) DO UPDATE SET key_fingerprint = excluded.key_fingerprint",
          {key_fingerprint}, "record this broker's keys");
      if (!w.ok()) return prefixed("store.postgres: ", w.status());
      // A session's own holds do not conflict: shared first, then the exclusive one goes.
      auto shared = yes(c, "SELECT pg_try_advisory_lock_shared(7346010, hashtext(current_schema()))",
                        "share the store lock");
      auto dropped = yes(c, "SELECT pg_advisory_unlock(7346010, hashtext(current_schema()))",
                         "keep the shared store lock");
      if (!shared.ok() || !dropped.ok())
        return prefixed("store.postgres: ", !shared.ok() ? shared.status() : dropped.status());
      return std::shared_ptr<void>(std::move(*conn));
    }
    auto joined = yes(c, "SELECT pg_try_advisory_lock_shared(7346010, hashtext(current_schema()))",
                      "join the brokers of the store");
    if (!joined.ok()) return prefixed("store.postgres: ", joined.status());
    if (*joined) {
      auto r = c.query("SELECT key_fingerprint FROM broker_identity WHERE id = 1", {},
                       "read the keys of the brokers serving the store");
      if (!r.ok()) return prefixed("store.postgres: ", r.status());
      if (r->rows() == 1 && r->text(0, 0) == key_fingerprint)
        return std::shared_ptr<void>(std::move(*conn));
      return core::conflict(
          "store.postgres: another jitbroker already serves this database, with other keys; "
          "replicas must share their keys (copy data_dir's ca/ and jwt/ from a running one)");
    }
    std::this_thread::sleep_for(kRetry);
  }
  return core::conflict(
      "store.postgres: another jitbroker already serves this database (one of an older "
      "release, or one still starting)");
}

}  // namespace jitb::server
