#include "broker/store/sqlite_store.h"

#include <boost/json.hpp>
#include <future>
#include <iterator>
#include <string>

#include "broker/store/job_payload.h"
#include "broker/store/migration_files.h"
#include "broker/store/sqlite_conn.h"
#include "broker/store/sqlite_lease_counts.h"
#include "broker/store/ticket_order.h"

namespace jitb::store {

// Generated from sqlite_migrations/*.sql by scripts/embed.cmake.
extern const EmbeddedFiles kSqliteMigrations;

namespace {


#define LEASE_SELECT                                                                         \
  "SELECT id, kind, ticket, grant_name, subject, state, issued_at, expires_at, ended_at, "   \
  "reason, coalesce(jti,''), coalesce(serial,''), claims, review, caller_issuer, "           \
  "caller_claims FROM leases "
#define ENDED_RETURNING \
  " RETURNING id, kind, coalesce(serial,''), coalesce(jti,''), expires_at, ticket, subject"

LeaseRow leaseFrom(const Stmt& s) {
  LeaseRow r;
  r.id = s.text(0);
  r.kind = static_cast<LeaseKind>(s.int64(1));
  r.ticket = s.text(2);
  r.grant = s.text(3);
  r.subject = s.text(4);
  r.state = static_cast<LeaseState>(s.int64(5));
  r.issued_at = s.int64(6);
  r.expires_at = s.int64(7);
  r.ended_at = s.int64(8);
  r.reason = s.text(9);
  r.jti = s.text(10);
  r.serial = s.text(11);
  r.claims = s.text(12);
  r.review = s.int64(13) != 0;
  r.reviewed = s.int64(13) == 2;
  r.caller_issuer = s.text(14);
  r.caller_claims = s.text(15);
  return r;
}

EndedLease endedFrom(const Stmt& s) {
  return {s.text(0), static_cast<LeaseKind>(s.int64(1)), s.text(2), s.text(3), s.int64(4),
          s.text(5), s.text(6)};
}

// Applies the numbered files of sqlite_migrations/. The first is the original schema, written
// with IF NOT EXISTS and run on every open; PRAGMA user_version counts the files applied after
// it, as it counted the changes after the original schema before they were files.
core::Status migrate(SqliteConn& c) {
  auto all = orderedMigrations(kSqliteMigrations);
  if (!all.ok()) return all.status();
  if (all->empty()) return core::internalError("no SQLite schema is built into this binary");
  const std::string baseline((*all)[0].sql);
  if (core::Status st = c.exec(baseline.c_str()); !st.ok()) return st;
  int64_t have = 0;
  {
    Stmt v(c.prepare("PRAGMA user_version"));
    if (int rc = v.step(); rc != SQLITE_ROW) return c.error(rc, "read the schema version");
    have = v.int64(0);
  }
  const int64_t want = static_cast<int64_t>(all->size()) - 1;
  if (have > want)
    return core::internalError("the store's schema is newer than this binary's: upgrade jitbroker");
  for (int64_t i = have; i < want; ++i) {
    std::string sql = "BEGIN; " + std::string((*all)[i + 1].sql) + "; PRAGMA user_version = " +
                      std::to_string(i + 1) + "; COMMIT;";
    if (core::Status st = c.exec(sql.c_str()); !st.ok()) {
      (void)c.exec("ROLLBACK");
      return st;
    }
  }
  return core::okStatus();
}

// Runs a statement expected to return rows, collecting them with `row`.
template <class F>
core::Status eachRow(SqliteConn& c, Stmt& s, const char* what, F&& row) {
  for (;;) {
    int rc = s.step();
    if (rc == SQLITE_DONE) return core::okStatus();
    if (rc != SQLITE_ROW) return c.error(rc, what);
    row(s);
  }
}

// The hook's payload for an ended lease; written with the revocation, in its transaction.
core::Status enqueueJob(SqliteConn& c, const EndedLease& l, const std::string& reason, int64_t now) {
  const std::string payload = revocationPayload(l, reason, now);
  Stmt s(c.prepare("INSERT INTO jobs (lease_id, payload, next_at) VALUES (?, ?, ?)"));
  s.bind(1, l.id).bind(2, payload).bind(3, now);
  int rc = s.step();
  return rc == SQLITE_DONE ? core::okStatus() : c.error(rc, "enqueue job");
}

// Database leases' role revocations, in the ending transaction whatever ended them.
core::Status enqueueDatabaseJobs(SqliteConn& c, const std::vector<EndedLease>& ended,
                                 size_t from, const std::string& reason, int64_t now) {
  for (size_t i = from; i < ended.size(); ++i) {
    if (ended[i].kind != LeaseKind::kDatabase) continue;
    Stmt s(c.prepare("INSERT INTO jobs (lease_id, payload, next_at, kind) VALUES (?, ?, ?, 'database')"));
    s.bind(1, ended[i].id).bind(2, databaseJobPayload(ended[i], reason, now)).bind(3, now);
    int rc = s.step();
    if (rc != SQLITE_DONE) return c.error(rc, "enqueue database job");
  }
  return core::okStatus();
}

}  // namespace

const char* toString(LeaseKind k) {
  switch (k) {
    case LeaseKind::kToken: return "token";
    case LeaseKind::kCertificate: return "certificate";
    case LeaseKind::kSsh: return "ssh";
    case LeaseKind::kDatabase: return "database";
    case LeaseKind::kAcmeAccount: return "acme_account";
    case LeaseKind::kOperator: return "operator";
  }
  return "unknown";
}

std::optional<LeaseKind> leaseKindFromString(std::string_view s) {
  for (LeaseKind k : {LeaseKind::kToken, LeaseKind::kCertificate, LeaseKind::kSsh,
                      LeaseKind::kDatabase, LeaseKind::kOperator, LeaseKind::kAcmeAccount})
    if (s == toString(k)) return k;
  return std::nullopt;
}

const char* toString(LeaseState s) {
  switch (s) {
    case LeaseState::kActive: return "active";
    case LeaseState::kExpired: return "expired";
    case LeaseState::kRevoked: return "revoked";
  }
  return "active";
}

std::optional<LeaseState> leaseStateFromString(std::string_view s) {
  if (s == "active") return LeaseState::kActive;
  if (s == "expired") return LeaseState::kExpired;
  if (s == "revoked") return LeaseState::kRevoked;
  return std::nullopt;
}

SqliteStore::SqliteStore(std::string path) : path_(std::move(path)) {}

core::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  std::unique_ptr<SqliteStore> s(new SqliteStore(path));
  auto w = SqliteConn::open(path, true);
  if (!w.ok()) return w.status();
  s->writer_ = std::move(*w);
  if (core::Status st = s->writer_->exec("PRAGMA journal_mode=WAL"); !st.ok()) return st;
  if (core::Status st = migrate(*s->writer_); !st.ok()) return st;
  s->writer_thread_ = std::thread([p = s.get()] { p->writerLoop(); });
  return s;
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  {
    std::lock_guard lk(qmu_);
    stop_ = true;
  }
  qcv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
}

core::Status SqliteStore::write(WriteFn fn, bool one_write) {
  std::promise<core::Status> p;
  std::future<core::Status> done = p.get_future();
  writeAsync(std::move(fn), [&p](core::Status st) { p.set_value(std::move(st)); }, one_write);
  return done.get();
}

void SqliteStore::writeAsync(WriteFn fn, WriteDone done, bool one_write) {
  {
    std::lock_guard lk(qmu_);
    if (!stop_) {
      queue_.push_back({std::move(fn), std::move(done), one_write});
      qcv_.notify_one();
      return;
    }
  }
  done(core::unavailable("the store is closing"));
}

void SqliteStore::writerLoop() {
  for (;;) {
    std::deque<WriteOp> batch;
    {
      std::unique_lock lk(qmu_);
      qcv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left to write
      batch.swap(queue_);
    }
    SqliteConn& c = *writer_;
    std::vector<core::Status> results(batch.size());
    core::Status txn = c.run("BEGIN IMMEDIATE");
    if (txn.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        // A savepoint per operation: one failing write does not undo its neighbours. A single
        // failing statement undoes itself, so an operation of one write needs none.
        if (batch[i].one_write) {
          results[i] = batch[i].fn(c);
          continue;
        }
        (void)c.run("SAVEPOINT op");
        results[i] = batch[i].fn(c);
        if (!results[i].ok()) (void)c.run("ROLLBACK TO op");
        (void)c.run("RELEASE op");
      }
      txn = c.run("COMMIT");
      if (!txn.ok()) c.exec("ROLLBACK");
    }
    if (txn.ok()) {
      ++commits_;
      committed_ops_ += batch.size();
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(txn.ok() ? results[i] : txn);
  }
}

SqliteStore::Reader::Reader(SqliteStore& s, std::unique_ptr<SqliteConn> c)
    : store_(s), conn_(std::move(c)) {}

SqliteStore::Reader::~Reader() {
  if (!conn_) return;
  std::lock_guard lk(store_.pool_mu_);
  store_.pool_.push_back(std::move(conn_));
}

SqliteStore::Reader SqliteStore::reader() {
  {
    std::lock_guard lk(pool_mu_);
    if (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      return Reader(*this, std::move(c));
    }
  }
  auto c = SqliteConn::open(path_, false);
  return Reader(*this, c.ok() ? std::move(*c) : nullptr);
}

#define READER_OR_RETURN(r)                                                  \
  auto r = reader();                                                         \
  if (!r.ok()) return core::unavailable("the store cannot open a reader")

core::StatusOr<TicketWrite> SqliteStore::putTicket(const TicketRow& row) {
  auto applied = applyTicket(row, {});
  if (!applied.ok()) return applied.status();
  return applied->write;
}

core::StatusOr<std::optional<TicketRow>> SqliteStore::getTicket(const std::string& id) {
  READER_OR_RETURN(r);
  Stmt s(r->prepare(
      "SELECT id, state, updated_at, window_end, json, received_at FROM tickets WHERE id = ?"));
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<TicketRow>();
  if (rc != SQLITE_ROW) return r->error(rc, "get ticket");
  return std::optional<TicketRow>(
      TicketRow{s.text(0), s.text(1), s.int64(2), s.int64(3), s.text(4), s.int64(5)});
}

namespace {
core::Status insertLeaseRow(SqliteConn& c, const LeaseRow& l) {
  Stmt s(c.prepare(
      "INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, "
      "expires_at, ended_at, reason, jti, serial, claims, review, caller_issuer, caller_claims) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  s.bind(1, l.id).bind(2, static_cast<int64_t>(l.kind)).bind(3, l.ticket).bind(4, l.grant);
  s.bind(5, l.subject).bind(6, static_cast<int64_t>(l.state)).bind(7, l.issued_at);
  s.bind(8, l.expires_at).bind(9, l.ended_at).bind(10, l.reason);
  s.bindOrNull(11, l.jti).bindOrNull(12, l.serial).bind(13, l.claims);
  s.bind(14, static_cast<int64_t>(l.review)).bind(15, l.caller_issuer).bind(16, l.caller_claims);
  int rc = s.step();
  return rc == SQLITE_DONE ? core::okStatus() : c.error(rc, "insert lease");
}
}  // namespace

void SqliteStore::setLeaseQuotas(LeaseQuotas quotas) {
  std::lock_guard lk(quota_mu_);
  quotas_ = quotas;
}

LeaseQuotas SqliteStore::leaseQuotas() {
  std::lock_guard lk(quota_mu_);
  return quotas_;
}

// Counting and inserting are two writes: the operation runs under its own savepoint, so that a
// refusal or a failed insert leaves no count behind.
core::Status SqliteStore::insertLease(const LeaseRow& l) {
  return write([&, q = leaseQuotas()](SqliteConn& c) {
    if (core::Status st = countActiveLease(c, l, q); !st.ok()) return st;
    return insertLeaseRow(c, l);
  });
}

void SqliteStore::insertLeaseAsync(LeaseRow lease, InsertDone done) {
  // Shared by the write (fills it) and its completion (hands it on); the writer thread runs
  // one after the other.
  auto seen = std::make_shared<std::optional<TicketState>>();
  writeAsync(
      [l = std::move(lease), seen, quotas = leaseQuotas()](SqliteConn& c) -> core::Status {
        {
          Stmt q(c.prepare("SELECT state, window_end, json FROM tickets WHERE id = ?"));
          q.bind(1, l.ticket);
          int rc = q.step();
          if (rc == SQLITE_ROW) *seen = TicketState{q.text(0), q.int64(1), q.text(2)};
          else if (rc != SQLITE_DONE) return c.error(rc, "read the lease's ticket");
        }
        if (core::Status st = countActiveLease(c, l, quotas); !st.ok()) return st;
        return insertLeaseRow(c, l);
      },
      [seen, done = std::move(done)](core::Status st) { done(std::move(st), std::move(*seen)); });
}

namespace {
core::StatusOr<std::optional<LeaseRow>> oneLease(SqliteConn& c, const char* sql,
                                                 const std::string& key) {
  Stmt s(c.prepare(sql));
  s.bind(1, key);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<LeaseRow>();
  if (rc != SQLITE_ROW) return c.error(rc, "get lease");
  return std::optional<LeaseRow>(leaseFrom(s));
}
}  // namespace

core::StatusOr<std::optional<LeaseRow>> SqliteStore::getLease(const std::string& id) {
  READER_OR_RETURN(r);
  return oneLease(*r, LEASE_SELECT "WHERE id = ?", id);
}

core::StatusOr<std::optional<LeaseRow>> SqliteStore::findLeaseByJti(const std::string& jti) {
  READER_OR_RETURN(r);
  return oneLease(*r, LEASE_SELECT "WHERE jti = ?", jti);
}

core::StatusOr<std::optional<LeaseRow>> SqliteStore::findLeaseBySerial(const std::string& serial) {
  READER_OR_RETURN(r);
  return oneLease(*r, LEASE_SELECT "WHERE serial = ?", serial);
}

core::StatusOr<std::vector<LeaseRow>> SqliteStore::listLeases(const LeaseFilter& f) {
  READER_OR_RETURN(r);
  Stmt s(r->prepare(LEASE_SELECT
                    "WHERE (?1 = '' OR ticket = ?1) AND (?2 = '' OR subject = ?2) "
                    "AND (?3 < 0 OR state = ?3) AND id > ?4 AND (?6 = 0 OR review = 1) "
                    "AND (?7 = '' OR grant_name = ?7) AND (?8 < 0 OR kind = ?8) "
                    "ORDER BY id LIMIT ?5"));
  s.bind(1, f.ticket).bind(2, f.subject);
  s.bind(3, f.state ? static_cast<int64_t>(*f.state) : int64_t{-1});
  s.bind(4, f.after_id).bind(5, static_cast<int64_t>(f.limit));
  s.bind(6, static_cast<int64_t>(f.review_only)).bind(7, f.grant);
  s.bind(8, f.kind ? static_cast<int64_t>(*f.kind) : int64_t{-1});
  std::vector<LeaseRow> out;
  core::Status st = eachRow(*r, s, "list leases", [&](const Stmt& row) {
    out.push_back(leaseFrom(row));
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<std::vector<EndedLease>> SqliteStore::revokeTicket(const std::string& ticket,
                                                                  const std::string& reason,
                                                                  int64_t now) {
  std::vector<EndedLease> out;
  core::Status st = write([&](SqliteConn& c) {
    out.clear();
    Stmt s(c.prepare("UPDATE leases SET state = 2, ended_at = ?, reason = ? "
                     "WHERE ticket = ? AND state = 0" ENDED_RETURNING));
    s.bind(1, now).bind(2, reason).bind(3, ticket);
    return endReturning(c, s, reason, now, out);
  });
  if (!st.ok()) return st;
  return out;
}

core::Status SqliteStore::endReturning(SqliteConn& c, Stmt& update, const std::string& reason,
                                       int64_t now, std::vector<EndedLease>& out) {
  const size_t from = out.size();
  core::Status done =
      eachRow(c, update, "end leases", [&](const Stmt& row) { out.push_back(endedFrom(row)); });
  for (size_t i = from; done.ok() && jobs_ && i < out.size(); ++i)
    done = enqueueJob(c, out[i], reason, now);
  if (done.ok()) done = enqueueDatabaseJobs(c, out, from, reason, now);
  return done;
}

core::StatusOr<std::vector<EndedLease>> SqliteStore::endLeases(const std::vector<std::string>& ids,
                                                               LeaseState state,
                                                               const std::string& reason,
                                                               int64_t now) {
  std::vector<EndedLease> out;
  if (ids.empty()) return out;
  core::Status st = write([&](SqliteConn& c) {
    out.clear();
    Stmt s(c.prepare("UPDATE leases SET state = ?, ended_at = ?, reason = ? "
                     "WHERE id = ? AND state = 0" ENDED_RETURNING));
    core::Status done = core::okStatus();
    for (size_t i = 0; done.ok() && i < ids.size(); ++i) {
      s.reset();
      s.bind(1, static_cast<int64_t>(state)).bind(2, now).bind(3, reason).bind(4, ids[i]);
      size_t before = out.size();
      done = eachRow(c, s, "end leases", [&](const Stmt& row) { out.push_back(endedFrom(row)); });
      if (done.ok() && out.size() > before && jobs_ && state == LeaseState::kRevoked)
        done = enqueueJob(c, out.back(), reason, now);
      if (done.ok()) done = enqueueDatabaseJobs(c, out, before, reason, now);
    }
    return done;
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<std::vector<EndedLease>> SqliteStore::expireDue(int64_t now) {
  std::vector<EndedLease> out;
  core::Status st = write([&](SqliteConn& c) {
    out.clear();
    Stmt s(c.prepare("UPDATE leases SET state = 1, ended_at = ?1, reason = 'ttl' "
                     "WHERE state = 0 AND expires_at <= ?1" ENDED_RETURNING));
    s.bind(1, now);
    core::Status done =
        eachRow(c, s, "expire leases", [&](const Stmt& row) { out.push_back(endedFrom(row)); });
    return done.ok() ? enqueueDatabaseJobs(c, out, 0, "ttl", now) : done;
  });
  if (!st.ok()) return st;
  return out;
}

core::Status SqliteStore::forEachActive(const std::function<void(const LeaseRow&)>& fn) {
  READER_OR_RETURN(r);
  Stmt s(r->prepare(LEASE_SELECT "WHERE state = 0"));
  return eachRow(*r, s, "scan active leases", [&](const Stmt& row) { fn(leaseFrom(row)); });
}

core::StatusOr<std::vector<LeaseRow>> SqliteStore::revokedUnexpiredCertificates(int64_t now) {
  READER_OR_RETURN(r);
  Stmt s(r->prepare(LEASE_SELECT "WHERE state = 2 AND kind = 1 AND expires_at > ?"));
  s.bind(1, now);
  std::vector<LeaseRow> out;
  core::Status st = eachRow(*r, s, "revoked certificates",
                            [&](const Stmt& row) { out.push_back(leaseFrom(row)); });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<std::vector<LeaseRow>> SqliteStore::revokedUnexpiredSsh(int64_t now) {
  READER_OR_RETURN(r);
  Stmt s(r->prepare(LEASE_SELECT "WHERE state = 2 AND kind = 2 AND expires_at > ?"));
  s.bind(1, now);
  std::vector<LeaseRow> out;
  core::Status st = eachRow(*r, s, "revoked SSH certificates",
                            [&](const Stmt& row) { out.push_back(leaseFrom(row)); });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<std::vector<ActiveTicket>> SqliteStore::activeTickets() {
  READER_OR_RETURN(r);
  Stmt s(r->prepare(
      "SELECT a.ticket, coalesce(t.state, 'unknown'), coalesce(t.window_end, 0) FROM "
      "(SELECT DISTINCT ticket FROM leases WHERE state = 0 AND kind <> 4) a "
      "LEFT JOIN tickets t ON t.id = a.ticket"));
  std::vector<ActiveTicket> out;
  core::Status st = eachRow(*r, s, "active tickets", [&](const Stmt& row) {
    out.push_back({row.text(0), row.text(1), row.int64(2)});
  });
  if (!st.ok()) return st;
  return out;
}

core::StatusOr<bool> SqliteStore::markReviewed(const std::string& id) {
  bool changed = false, exists = false;
  core::Status st = write([&](SqliteConn& c) {
    Stmt u(c.prepare("UPDATE leases SET review = 2 WHERE id = ? AND review = 1"));
    u.bind(1, id);
    if (int rc = u.step(); rc != SQLITE_DONE) return c.error(rc, "mark reviewed");
    changed = sqlite3_changes(c.db()) > 0;
    Stmt q(c.prepare("SELECT 1 FROM leases WHERE id = ? AND review <> 0"));
    q.bind(1, id);
    return eachRow(c, q, "find review", [&](const Stmt&) { exists = true; });
  });
  if (!st.ok()) return st;
  if (!changed && !exists) return core::notFound("no break-glass lease " + id);
  return changed;
}

core::StatusOr<int64_t> SqliteStore::nextCounter(const std::string& name) {
  int64_t value = 0;
  core::Status st = write([&](SqliteConn& c) {
    Stmt s(c.prepare("INSERT INTO counters (name, value) VALUES (?, 1) "
                     "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value"));
    s.bind(1, name);
    return eachRow(c, s, "counter", [&](const Stmt& row) { value = row.int64(0); });
  });
  if (!st.ok()) return st;
  return value;
}

core::StatusOr<bool> SqliteStore::claimDelivery(const std::string& key, int64_t now) {
  constexpr int64_t kKeepMs = 7LL * 24 * 3600 * 1000;
  bool first = false;
  core::Status st = write([&](SqliteConn& c) {
    Stmt prune(c.prepare("DELETE FROM deliveries WHERE at < ?"));
    prune.bind(1, now - kKeepMs);
    if (int rc = prune.step(); rc != SQLITE_DONE) return c.error(rc, "prune deliveries");
    Stmt s(c.prepare("INSERT INTO deliveries (key, at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING"));
    s.bind(1, key).bind(2, now);
    int rc = s.step();
    if (rc != SQLITE_DONE) return c.error(rc, "claim delivery");
    first = sqlite3_changes(c.db()) == 1;
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return first;
}

core::Status SqliteStore::releaseDelivery(const std::string& key) {
  return write([&](SqliteConn& c) {
    Stmt s(c.prepare("DELETE FROM deliveries WHERE key = ?"));
    s.bind(1, key);
    int rc = s.step();
    return rc == SQLITE_DONE ? core::okStatus() : c.error(rc, "release delivery");
  });
}

core::StatusOr<std::vector<JobRow>> SqliteStore::dueJobs(int64_t now, int limit) {
  return dueJobsOf("hook", now, limit);
}

core::StatusOr<std::vector<JobRow>> SqliteStore::dueJobsOf(const std::string& kind, int64_t now,
                                                           int limit) {
  READER_OR_RETURN(r);
  Stmt s(r->prepare("SELECT id, lease_id, payload, attempts, next_at, state, last_error FROM jobs "
                    "WHERE state != 1 AND next_at <= ? AND kind = ? ORDER BY next_at LIMIT ?"));
  s.bind(1, now).bind(2, kind).bind(3, static_cast<int64_t>(limit));
  std::vector<JobRow> out;
  core::Status st = eachRow(*r, s, "due jobs", [&](const Stmt& row) {
    out.push_back({row.int64(0), row.text(1), row.text(2), static_cast<int>(row.int64(3)),
                   row.int64(4), static_cast<JobState>(row.int64(5)), row.text(6), kind});
  });
  if (!st.ok()) return st;
  return out;
}

core::Status SqliteStore::updateLeaseClaims(const std::string& id, const std::string& claims) {
  return write([&](SqliteConn& c) {
    Stmt s(c.prepare("UPDATE leases SET claims = ? WHERE id = ?"));
    s.bind(1, claims).bind(2, id);
    int rc = s.step();
    return rc == SQLITE_DONE ? core::okStatus() : c.error(rc, "update lease claims");
  });
}

core::Status SqliteStore::finishJob(int64_t id) {
  return write([&](SqliteConn& c) {
    Stmt s(c.prepare("UPDATE jobs SET state = 1, attempts = attempts + 1 WHERE id = ?"));
    s.bind(1, id);
    int rc = s.step();
    return rc == SQLITE_DONE ? core::okStatus() : c.error(rc, "finish job");
  });
}

core::Status SqliteStore::retryJob(int64_t id, int attempts, int64_t next_at, JobState state,
                                   const std::string& error) {
  return write([&](SqliteConn& c) {
    Stmt s(c.prepare("UPDATE jobs SET attempts = ?, next_at = ?, state = ?, last_error = ? WHERE id = ?"));
    s.bind(1, static_cast<int64_t>(attempts)).bind(2, next_at).bind(3, static_cast<int64_t>(state));
    s.bind(4, error).bind(5, id);
    int rc = s.step();
    return rc == SQLITE_DONE ? core::okStatus() : c.error(rc, "retry job");
  });
}

core::StatusOr<std::pair<int64_t, int64_t>> SqliteStore::jobCounts() {
  READER_OR_RETURN(r);
  Stmt s(r->prepare("SELECT (SELECT count(*) FROM jobs WHERE state = 0), "
                    "(SELECT count(*) FROM jobs WHERE state = 2)"));
  int rc = s.step();
  if (rc != SQLITE_ROW) return r->error(rc, "job counts");
  return std::make_pair(s.int64(0), s.int64(1));
}

}  // namespace jitb::store
