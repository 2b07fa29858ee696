// Lease figures: revocation lag for one ticket with N active leases, restart recovery time and
// memory per active lease, expiry lag. Uses the real store (SQLite in a temp folder, or the
// PostgreSQL database of --pg URI, whose public schema it drops and recreates) and the real lease
// manager; rows are bulk-loaded with SQL directly so that loading is not what is timed.
//   lease_bench [revoke sizes...] --recover N --expiry N [--history N] [--repeat N]
//               [--pg URI [--audit-in-txn]]
// --history N: the largest revocation once more, with N ended leases of other tickets loaded
// first (history=N in its line). --repeat N: each revocation size N times, each on a fresh load.
// --audit-in-txn: the store keeps the audit log as a replica's does (PgStore::keepAuditAs, and
// the lease manager's sink is the store's chain), so that the records of the ends commit in the
// ending transaction (audit=store; else audit=file, the records in data_dir's file log).
// prints lines such as:
//   lease revoke backend=sqlite leases=100000 history=0 seconds=0.41 audit=file
//   lease recover backend=sqlite leases=1000000 seconds=3.2 rss_delta_bytes=... bytes_per_lease=...
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/leases/lease_manager.h"
#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_store.h"
#include "broker/store/sqlite_store.h"

using namespace jitb;
using Clock = std::chrono::steady_clock;

namespace {

long rssBytes() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// The quota counts of the bulk-loaded leases (each run loads into an empty store).
constexpr const char* kCountRows =
    "INSERT INTO lease_counts (scope, key, n) SELECT 'subject', subject, count(*) "
    "FROM leases WHERE state = 0 GROUP BY subject; "
    "INSERT INTO lease_counts (scope, key, n) SELECT 'ticket', ticket, count(*) "
    "FROM leases WHERE state = 0 GROUP BY ticket";

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "lease_bench: %s\n", what.c_str());
  std::exit(1);
}

// Where the rows live: fresh() empties the store for a run and makes its schema, load() adds
// rows behind the store's back, open() opens it as the broker would.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual void fresh(const std::string& run) = 0;
  // `n` active token leases of `ticket` (an approved ticket open for a day, so that start()
  // does not settle them); they expire within the ten minutes after an hour, or all at
  // `expire_at_ms` when it is set.
  virtual void load(const std::string& run, const std::string& ticket, int n, int64_t now_ms,
                    int64_t expire_at_ms) = 0;
  // `n` leases that ended long ago, of 5,000 other tickets: the history a store in service
  // holds beside the active ones.
  virtual void loadHistory(const std::string& run, int n) = 0;
  virtual std::unique_ptr<store::Store> open(const std::string& run) = 0;
  // Leaves nothing behind for whoever uses the store next.
  virtual void finish() {}
};

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(std::string dir) : dir_(std::move(dir)) {}
  const char* name() const override { return "sqlite"; }
  void fresh(const std::string& run) override {
    std::filesystem::remove(path(run));
    (void)open(run);  // the schema
  }
  void load(const std::string& run, const std::string& ticket, int n, int64_t now_ms,
            int64_t expire_at_ms) override {
    sqlite3* db = nullptr;
    sqlite3_open(path(run).c_str(), &db);
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    std::string t = "INSERT INTO tickets (id, state, updated_at, window_end, json, received_at) "
                    "VALUES ('" + ticket + "', 'approved', 1, " +
                    std::to_string(now_ms + 86'400'000) + ", '{}', 1)";
    sqlite3_exec(db, t.c_str(), nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO leases (id, kind, ticket, grant_name, subject, state, "
                       "issued_at, expires_at, jti, claims) VALUES (?, 0, ?, 'deploy', ?, 0, ?, "
                       "?, ?, '{}')",
                       -1, &st, nullptr);
    if (!st) fail(sqlite3_errmsg(db));
    char id[64];
    for (int i = 0; i < n; ++i) {
      std::snprintf(id, sizeof id, "lease_%s_%09d", ticket.c_str(), i);
      sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, ticket.c_str(), -1, SQLITE_TRANSIENT);
      std::string subject = "repo:acme/svc" + std::to_string(i % 1000);
      sqlite3_bind_text(st, 3, subject.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 4, now_ms);
      sqlite3_bind_int64(st, 5, expire_at_ms ? expire_at_ms : now_ms + 3'600'000 + i % 600'000);
      std::string jti = std::string("j") + id;
      sqlite3_bind_text(st, 6, jti.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_step(st);
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    // The quota counts the store's inserts would have taken, so that ending the leases lowers
    // real rows as it does in service.
    if (sqlite3_exec(db, kCountRows, nullptr, nullptr, nullptr) != SQLITE_OK)
      fail(sqlite3_errmsg(db));
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  void loadHistory(const std::string& run, int n) override {
    sqlite3* db = nullptr;
    sqlite3_open(path(run).c_str(), &db);
    const std::string sql =
        "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < " +
        std::to_string(n - 1) +
        ") INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, "
        "expires_at, ended_at, reason, jti, claims) SELECT printf('old_%09d', i), 0, "
        "'OLD' || (i % 5000), 'deploy', 'repo:acme/svc' || (i % 1000), 1, 1000, 2000, 2000, "
        "'ttl', printf('jold_%09d', i), '{}' FROM c";
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
      fail(sqlite3_errmsg(db));
    sqlite3_close(db);
  }
  std::unique_ptr<store::Store> open(const std::string& run) override {
    auto s = store::SqliteStore::open(path(run));
    if (!s.ok()) fail(s.status().message() + " " + s.status().detail());
    return std::move(*s);
  }

 private:
  std::string path(const std::string& run) const { return dir_ + "/" + run + ".db"; }
  std::string dir_;
};

class PgBackend final : public Backend {
 public:
  PgBackend(std::string uri, bool audit_in_txn) : uri_(std::move(uri)), audit_(audit_in_txn) {}
  const char* name() const override { return "postgres"; }
  void fresh(const std::string&) override {
    exec("SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    (void)open("");  // the schema, migrated as serve would
  }
  void load(const std::string&, const std::string& ticket, int n, int64_t now_ms,
            int64_t expire_at_ms) override {
    const std::string now = std::to_string(now_ms);
    const std::string expires = expire_at_ms ? std::to_string(expire_at_ms)
                                             : now + " + 3600000 + i % 600000";
    exec("INSERT INTO tickets (id, state, updated_at, window_end, json, received_at) VALUES ('" +
         ticket + "', 'approved', 1, " + std::to_string(now_ms + 86'400'000) + ", '{}', 1)");
    exec("INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, "
         "expires_at, jti, claims) SELECT 'lease_" + ticket + "_' || lpad(i::text, 9, '0'), 0, '" +
         ticket + "', 'deploy', 'repo:acme/svc' || (i % 1000), 0, " + now + ", " + expires +
         ", 'jlease_" + ticket + "_' || lpad(i::text, 9, '0'), '{}' FROM generate_series(0, " +
         std::to_string(n - 1) + ") AS i; "
         "INSERT INTO lease_active (id, ticket, subject, expires_at, kind, jti, serial) "
         "SELECT id, ticket, subject, expires_at, kind, jti, serial FROM leases "
         "WHERE ticket = '" + ticket + "'; " +
         kCountRows + "; "
         "ANALYZE leases; ANALYZE lease_active");
  }
  void loadHistory(const std::string&, int n) override {
    exec("INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, "
         "expires_at, ended_at, reason, jti, claims) SELECT 'old_' || lpad(i::text, 9, '0'), 0, "
         "'OLD' || (i % 5000), 'deploy', 'repo:acme/svc' || (i % 1000), 1, 1000, 2000, 2000, "
         "'ttl', 'jold_' || lpad(i::text, 9, '0'), '{}' FROM generate_series(0, " +
         std::to_string(n - 1) + ") AS i; ANALYZE leases");
  }
  void finish() override {
    exec("SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  }
  std::unique_ptr<store::Store> open(const std::string&) override {
    auto s = store::PgStore::open(uri_);
    if (!s.ok()) fail(s.status().message() + " " + s.status().detail());
    if (audit_) (*s)->keepAuditAs("bench");
    return std::move(*s);
  }

 private:
  void exec(const std::string& sql) {
    PGconn* c = PQconnectdb(uri_.c_str());
    if (PQstatus(c) != CONNECTION_OK) fail(PQerrorMessage(c));
    PGresult* r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    const std::string err = PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
    if (!ok) fail(err);
  }
  std::string uri_;
  bool audit_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> revoke_sizes;
  int recover = 0, expiry = 0, history = 0, repeat = 1;
  std::string pg_uri;
  bool audit_in_txn = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--recover") == 0 && i + 1 < argc) recover = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--expiry") == 0 && i + 1 < argc) expiry = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--pg") == 0 && i + 1 < argc) pg_uri = argv[++i];
    else if (std::strcmp(argv[i], "--history") == 0 && i + 1 < argc) history = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--audit-in-txn") == 0) audit_in_txn = true;
    else revoke_sizes.push_back(std::atoi(argv[i]));
  }
  char tmpl[] = "/tmp/jitb-lease-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::unique_ptr<Backend> backend;
  if (pg_uri.empty()) backend = std::make_unique<SqliteBackend>(dir);
  else backend = std::make_unique<PgBackend>(pg_uri, audit_in_txn);
  if (audit_in_txn && pg_uri.empty()) fail("--audit-in-txn needs --pg URI");
  const char* b = backend->name();
  core::SystemClock clock;
  auto nowMs = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock.now().time_since_epoch()).count();
  };
  const leases::Quotas unlimited{1'000'000'000, 1'000'000'000};

  // Each size once on a store holding only that ticket's leases; with --history, the largest
  // again beside that many ended leases of other tickets.
  std::vector<std::pair<int, int>> revokes;  // (leases, history)
  for (int n : revoke_sizes)
    for (int k = 0; k < repeat; ++k) revokes.emplace_back(n, 0);
  if (history > 0 && !revoke_sizes.empty())
    revokes.emplace_back(*std::max_element(revoke_sizes.begin(), revoke_sizes.end()), history);
  for (const auto& [n, old] : revokes) {
    const std::string run = "revoke-" + std::to_string(n) + "-" + std::to_string(old);
    backend->fresh(run);
    if (old > 0) backend->loadHistory(run, old);
    backend->load(run, "T", n, nowMs(), 0);
    auto s = backend->open(run);
    auto audit = audit::AuditLog::open(dir + "/audit-" + run + ".log", clock);
    // A replica's sink is the store's chain (server/build_store), whatever writes through it.
    std::unique_ptr<audit::AuditSink> store_sink;
    if (s->auditsInTransaction())
      store_sink = std::make_unique<store::PgAuditSink>(static_cast<store::PgStore&>(*s), clock);
    metrics::Registry reg;
    leases::LeaseManager m(*s, store_sink ? *store_sink : **audit, clock, unlimited, reg);
    if (core::Status st = m.start(); !st.ok()) fail(st.message() + " " + st.detail());
    auto t0 = Clock::now();
    auto r = m.revokeTicket("T", "ticket_closed");
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!r.ok() || *r != static_cast<size_t>(n))
      fail("revoked " + std::to_string(r.ok() ? *r : 0) + " of " + std::to_string(n));
    std::printf("lease revoke backend=%s leases=%d history=%d seconds=%.3f audit=%s\n", b, n, old,
                secs, s->auditsInTransaction() ? "store" : "file");
    std::fflush(stdout);
    m.stop();
  }

  if (recover > 0) {
    backend->fresh("recover");
    backend->load("recover", "R", recover, nowMs(), 0);
    auto s = backend->open("recover");
    auto audit = audit::AuditLog::open(dir + "/audit-recover.log", clock);
    metrics::Registry reg;
    long before = rssBytes();
    auto t0 = Clock::now();
    leases::LeaseManager m(*s, **audit, clock, unlimited, reg);
    if (core::Status st = m.start(); !st.ok()) fail(st.message() + " " + st.detail());
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    long delta = rssBytes() - before;
    std::printf("lease recover backend=%s leases=%d seconds=%.2f rss_delta_bytes=%ld "
                "bytes_per_lease=%.0f active=%lld\n",
                b, recover, secs, delta, static_cast<double>(delta) / recover,
                static_cast<long long>(m.activeCount()));
    std::fflush(stdout);
    m.stop();
  }
  if (expiry > 0) {
    // N leases that all expire 3 s from now; the lease manager's own timer thread ends them.
    backend->fresh("expiry");
    int64_t expire_at = nowMs() + 3000;  // after loading and start-up, so only the lag counts
    backend->load("expiry", "E", expiry, nowMs(), expire_at);
    auto s = backend->open("expiry");
    auto audit = audit::AuditLog::open(dir + "/audit-expiry.log", clock);
    metrics::Registry reg;
    leases::LeaseManager m(*s, **audit, clock, unlimited, reg);
    if (core::Status st = m.start(); !st.ok()) fail(st.message() + " " + st.detail());
    while (m.activeCount() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::printf("lease expiry backend=%s leases=%d lag_seconds=%.3f\n", b, expiry,
                (nowMs() - expire_at) / 1000.0);
    m.stop();
  }
  backend->finish();
  std::filesystem::remove_all(dir);
  return 0;
}
