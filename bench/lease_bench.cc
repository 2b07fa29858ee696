// Lease figures (issue: leases): revocation lag for one ticket with N active leases, restart
// recovery time and memory per active lease. Uses the real SQLite store and lease manager in a
// temp folder; rows are bulk-loaded with SQLite directly so that loading is not what is timed.
//   lease_bench [revoke sizes...] --recover N
// prints lines such as:
//   lease revoke leases=100000 seconds=0.41
//   lease recover leases=1000000 seconds=3.2 rss_delta_bytes=... bytes_per_lease=...
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/leases/lease_manager.h"
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

// Bulk-loads `n` active token leases of `ticket` in one transaction; they expire within the
// next ten minutes after an hour, or all at `expire_at_ms` when it is set.
void load(const std::string& db_path, const std::string& ticket, int n, int64_t now_ms,
          int64_t expire_at_ms = 0) {
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  // An approved ticket, open for a day: otherwise start() would settle its leases at once.
  std::string t = "INSERT INTO tickets (id, state, updated_at, window_end, json, received_at) "
                  "VALUES ('" + ticket + "', 'approved', 1, " + std::to_string(now_ms + 86'400'000) +
                  ", '{}', 1)";
  sqlite3_exec(db, t.c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, "
                     "expires_at, jti, claims) VALUES (?, 0, ?, 'deploy', ?, 0, ?, ?, ?, '{}')",
                     -1, &st, nullptr);
  if (!st) {
    std::fprintf(stderr, "lease_bench: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
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
  if (sqlite3_exec(db,
                   "INSERT INTO lease_counts (scope, key, n) SELECT 'subject', subject, count(*) "
                   "FROM leases WHERE state = 0 GROUP BY subject; "
                   "INSERT INTO lease_counts (scope, key, n) SELECT 'ticket', ticket, count(*) "
                   "FROM leases WHERE state = 0 GROUP BY ticket",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "lease_bench: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> revoke_sizes;
  int recover = 0, expiry = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--recover") == 0 && i + 1 < argc) recover = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--expiry") == 0 && i + 1 < argc) expiry = std::atoi(argv[++i]);
    else revoke_sizes.push_back(std::atoi(argv[i]));
  }
  char tmpl[] = "/tmp/jitb-lease-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  core::SystemClock clock;
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       clock.now().time_since_epoch()).count();

  for (int n : revoke_sizes) {
    std::string db = dir + "/revoke-" + std::to_string(n) + ".db";
    { auto s = store::SqliteStore::open(db); if (!s.ok()) return 1; }  // schema
    load(db, "T", n, now_ms);
    auto s = store::SqliteStore::open(db);
    auto audit = audit::AuditLog::open(dir + "/audit-" + std::to_string(n) + ".log", clock);
    metrics::Registry reg;
    leases::LeaseManager m(**s, **audit, clock, {1'000'000'000, 1'000'000'000}, reg);
    if (core::Status st = m.start(); !st.ok()) {
      std::fprintf(stderr, "lease_bench: %s %s\n", st.message().c_str(), st.detail().c_str());
      return 1;
    }
    auto t0 = Clock::now();
    auto r = m.revokeTicket("T", "ticket_closed");
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!r.ok() || *r != static_cast<size_t>(n)) {
      std::fprintf(stderr, "lease_bench: revoked %zu of %d\n", r.ok() ? *r : 0, n);
      return 1;
    }
    std::printf("lease revoke leases=%d seconds=%.3f\n", n, secs);
    std::fflush(stdout);
    m.stop();
  }

  if (recover > 0) {
    std::string db = dir + "/recover.db";
    { auto s = store::SqliteStore::open(db); if (!s.ok()) return 1; }
    load(db, "R", recover, now_ms);
    auto s = store::SqliteStore::open(db);
    auto audit = audit::AuditLog::open(dir + "/audit-recover.log", clock);
    metrics::Registry reg;
    long before = rssBytes();
    auto t0 = Clock::now();
    leases::LeaseManager m(**s, **audit, clock, {1'000'000'000, 1'000'000'000}, reg);
    if (!m.start().ok()) return 1;
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    long delta = rssBytes() - before;
    std::printf("lease recover leases=%d seconds=%.2f rss_delta_bytes=%ld bytes_per_lease=%.0f active=%lld\n",
                recover, secs, delta, static_cast<double>(delta) / recover,
                static_cast<long long>(m.activeCount()));
    m.stop();
  }
  if (expiry > 0) {
    // N leases that all expire 2 s from now; the lease manager's own timer thread ends them.
    std::string db = dir + "/expiry.db";
    { auto s = store::SqliteStore::open(db); if (!s.ok()) return 1; }
    int64_t load_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          clock.now().time_since_epoch()).count();
    int64_t expire_at = load_ms + 3000;  // after loading and start-up, so only the lag counts
    load(db, "E", expiry, load_ms, expire_at);
    auto s = store::SqliteStore::open(db);
    auto audit = audit::AuditLog::open(dir + "/audit-expiry.log", clock);
    metrics::Registry reg;
    leases::LeaseManager m(**s, **audit, clock, {1'000'000'000, 1'000'000'000}, reg);
    if (!m.start().ok()) return 1;
    while (m.activeCount() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int64_t done = std::chrono::duration_cast<std::chrono::milliseconds>(
                       clock.now().time_since_epoch()).count();
    std::printf("lease expiry leases=%d lag_seconds=%.3f\n", expiry, (done - expire_at) / 1000.0);
    m.stop();
  }
  std::filesystem::remove_all(dir);
  return 0;
}
