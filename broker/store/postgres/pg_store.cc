#include "broker/store/postgres/pg_store.h"

#include <algorithm>
#include <future>

#include "broker/store/job_payload.h"
#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_lease_counts.h"
#include "broker/store/postgres/pg_lease_insert.h"
#include "broker/store/postgres/pg_migrations.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/ticket_order.h"

namespace jitb::store {

using pg::Conn;
using pg::Param;

namespace {

constexpr int kTxnAttempts = 5;

// The records of a group's leases, in order, into `bodies` (those `outcomes` admitted, or all
// without it), and the latest issuance among them: the records' time.
int64_t groupRecords(const std::vector<const LeaseRow*>& rows,
                     const std::vector<const std::vector<std::string>*>& audits,
                     const std::vector<pg::InsertOutcome>* outcomes,
                     std::vector<std::string>& bodies) {
  bodies.clear();
  int64_t now_ms = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (outcomes && !(*outcomes)[i].status.ok()) continue;  // refused: no lease, no records
    bodies.insert(bodies.end(), audits[i]->begin(), audits[i]->end());
    now_ms = std::max(now_ms, rows[i]->issued_at);
  }
  return now_ms;
}

// A lease row's insert, $1..$16 in leaseParams' order; $3 is the ticket.
#define PG_INSERT_LEASE                                                                     \
  "INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, expires_at, " \
  "ended_at, reason, jti, serial, claims, review, caller_issuer, caller_claims) "           \
  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"

std::vector<Param> leaseParams(const LeaseRow& l) {
  return {l.id, static_cast<int>(l.kind), l.ticket, l.grant, l.subject, static_cast<int>(l.state),
          l.issued_at, l.expires_at, l.ended_at, l.reason, Param::orNull(l.jti),
          Param::orNull(l.serial), l.claims, static_cast<int>(l.review), l.caller_issuer,
          l.caller_claims};
}

// An active lease joins lease_active (migrations/0002_active_set.sql) in the same statement.
#define PG_INSERT_ACTIVE                                                  \
  "INSERT INTO lease_active (id, ticket, subject, expires_at, kind, jti, serial) " \
  "SELECT $1, $3, $5, $8, $2, $11, $12 " \
  "WHERE $6::smallint = 0"

core::Status insertLeaseRow(Conn& c, const LeaseRow& l) {
  return c.query("WITH ins AS (" PG_INSERT_LEASE " RETURNING 1) " PG_INSERT_ACTIVE, leaseParams(l),
                 "insert lease")
      .status();
}

}  // namespace

PgStore::PgStore(const std::string& uri, PgOptions options)
    : opts_(options),
      pool_(uri, options.max_connections, options.connect_timeout_s,
            std::chrono::milliseconds(options.acquire_wait_ms)) {}

core::StatusOr<std::unique_ptr<PgStore>> PgStore::open(const std::string& uri, PgOptions options) {
  if (options.max_connections < options.async_workers + 1)
    options.max_connections = options.async_workers + 1;  // synchronous calls need one too
  std::unique_ptr<PgStore> s(new PgStore(uri, options));
  {
    auto c = s->pool_.acquire();
    if (!c.ok()) return c.status();
    auto v = pg::migrate(**c);
    if (!v.ok()) return v.status();
  }
  s->completer_ = std::thread([p = s.get()] { p->completeLoop(); });
  for (size_t i = 0; i < options.async_workers; ++i)
    s->workers_.emplace_back([p = s.get()] { p->asyncLoop(); });
  return s;
}

PgStore::~PgStore() { close(); }

void PgStore::close() {
  {
    std::lock_guard lk(qmu_);
    stop_ = true;
  }
  qcv_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  {
    std::lock_guard lk(cmu_);
    cstop_ = true;
  }
  ccv_.notify_all();
  if (completer_.joinable()) completer_.join();
  closed_ = true;
}

core::Status PgStore::onConn(const TxnFn& fn) {
  if (closed_) return core::unavailable("the store is closing");
  auto c = pool_.acquire();
  if (!c.ok()) return c.status();
  core::Status st = fn(**c);
  // A statement error with a healthy connection (a constraint) was still the server's answer.
  if (st.ok() || (*c)->healthy()) round_trips_.fetch_add(1, std::memory_order_relaxed);
  return st;
}

core::StatusOr<int64_t> PgStore::queryInt64(const char* sql, const std::vector<pg::Param>& params,
                                            std::string_view what) {
  int64_t value = 0;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(sql, params, what);
    if (!r.ok()) return r.status();
    value = r->int64(0, 0);
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return value;
}

core::Status PgStore::inTxn(const TxnFn& fn, const char* begin) {
  if (closed_) return core::unavailable("the store is closing");
  core::Status st;
  for (int attempt = 0; attempt < kTxnAttempts; ++attempt) {
    auto h = pool_.acquire();
    if (!h.ok()) return h.status();
    Conn& c = **h;
    st = c.exec(begin, "begin");
    if (st.ok()) st = fn(c);
    if (st.ok()) st = c.exec("COMMIT", "commit");
    if (st.ok() || c.healthy()) round_trips_.fetch_add(1, std::memory_order_relaxed);
    if (st.ok()) return st;
    const bool retry = c.lastErrorRetryable();
    if (c.healthy()) (void)c.exec("ROLLBACK", "roll back");
    if (!retry) return st;
  }
  return st;
}

// Group commit: each worker takes every insert queued at that moment (up to
// insert_group_max) into one transaction, so their commits share one WAL flush; while it
// waits on the server, further inserts queue up for the next group. A failure that is not a
// quota refusal fails the statement for the whole group; the group then runs again one lease
// per transaction, so that only the lease at fault gets the error.
void PgStore::asyncLoop() {
  for (;;) {
    std::vector<AsyncInsert> group;
    {
      std::unique_lock lk(qmu_);
      qcv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left to write
      const size_t n = std::min(queue_.size(), std::max<size_t>(opts_.insert_group_max, 1));
      group.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const LeaseQuotas quotas = leaseQuotas();
    std::vector<const LeaseRow*> rows;
    std::vector<const std::vector<std::string>*> audits;
    for (const auto& job : group) {
      rows.push_back(&job.lease);
      audits.push_back(&job.audit);
    }
    std::vector<pg::InsertOutcome> outcomes;
    core::Status st = insertGroup(rows, audits, quotas, outcomes);
    if (!st.ok() && group.size() > 1 && st.code() != core::Code::kUnavailable) {
      outcomes.assign(group.size(), {});
      for (size_t i = 0; i < group.size(); ++i) {
        std::vector<pg::InsertOutcome> one;
        core::Status s1 = insertGroup({rows[i]}, {audits[i]}, quotas, one);
        outcomes[i] = s1.ok() ? std::move(one[0]) : pg::InsertOutcome{s1, std::nullopt};
      }
      st = core::okStatus();
    }
    // Answered on the completion thread, so that this worker starts the next group now.
    auto answer = [group = std::move(group), outcomes = std::move(outcomes), st]() mutable {
      for (size_t i = 0; i < group.size(); ++i) {
        if (!st.ok()) group[i].done(st, std::nullopt);
        else group[i].done(std::move(outcomes[i].status), std::move(outcomes[i].seen));
      }
    };
    {
      std::lock_guard lk(cmu_);
      completions_.push_back(std::move(answer));
    }
    ccv_.notify_one();
  }
}

void PgStore::completeLoop() {
  for (;;) {
    std::deque<std::function<void()>> ready;
    {
      std::unique_lock lk(cmu_);
      ccv_.wait(lk, [&] { return cstop_ || !completions_.empty(); });
      if (completions_.empty()) return;  // stopping, every completion run
      ready.swap(completions_);
    }
    for (auto& answer : ready) answer();
  }
}

// One statement outside BEGIN/COMMIT: it is its own transaction, committed (and flushed) before
// the server answers, so a group costs one round trip. A deadlock or serialization failure
// reruns it, as inTxn does a transaction.
core::Status PgStore::insertGroup(const std::vector<const LeaseRow*>& rows,
                                  const std::vector<const std::vector<std::string>*>& audits,
                                  const LeaseQuotas& quotas,
                                  std::vector<pg::InsertOutcome>& out) {
  bool audited = false;
  for (const auto* a : audits) audited = audited || !a->empty();
  if (audited) {
    if (auto head = auditHead()) {
      // One statement: the records chained after the head this replica last left. It is
      // refused as a whole when that head moved or a lease met its quota; the locked path
      // below then runs the group and learns the head.
      Appended appended;
      const int64_t now_ms = groupRecords(rows, audits, nullptr, appended.bodies);
      const pg::ChainLinks links = pg::chainAfter(audit_replica_, *head, appended.bodies);
      bool locked_way = false;  // refused (JB001) or a deadlock: the locked path reruns it
      core::Status st = onConn([&](Conn& c) -> core::Status {
        auto r = pg::insertLeasesAudited(c, rows, quotas, audit_replica_, *head, links, now_ms);
        locked_way = c.lastSqlState() == pg::kChainMovedState || c.lastErrorRetryable();
        if (!r.ok()) return r.status();
        out = std::move(*r);
        return core::okStatus();
      });
      if (st.ok()) {
        appended.head = links.head;
        copyAudit(std::move(appended));
        return st;
      }
      if (!locked_way) return st;
      forgetAuditHead();
    }
    // The records of the leases written commit with them: the group statement and the chain's
    // append in one transaction (the chain's head row is locked from the append to the commit).
    Appended appended;
    core::Status st = inTxn([&](Conn& c) -> core::Status {
      auto r = pg::insertLeases(c, rows, quotas);
      if (!r.ok()) return r.status();
      out = std::move(*r);
      const int64_t now_ms = groupRecords(rows, audits, &out, appended.bodies);
      return pg::appendAudit(c, audit_replica_, appended.bodies, now_ms, &appended.head);
    });
    if (st.ok()) copyAudit(std::move(appended));
    return st;
  }
  core::Status st;
  for (int attempt = 0; attempt < kTxnAttempts; ++attempt) {
    bool retry = false;
    st = onConn([&](Conn& c) -> core::Status {
      auto r = pg::insertLeases(c, rows, quotas);
      if (!r.ok()) {
        retry = c.lastErrorRetryable();
        return r.status();
      }
      out = std::move(*r);
      return core::okStatus();
    });
    if (st.ok() || !retry) return st;
  }
  return st;
}

core::StatusOr<TicketWrite> PgStore::putTicket(const TicketRow& row) {
  auto applied = applyTicket(row, {});
  if (!applied.ok()) return applied.status();
  return applied->write;
}

core::StatusOr<std::optional<TicketRow>> PgStore::getTicket(const std::string& id) {
  std::optional<TicketRow> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(
        "SELECT id, state, updated_at, window_end, json, received_at FROM tickets WHERE id = $1",
        {id}, "get ticket");
    if (!r.ok()) return r.status();
    if (r->rows() == 1)
      out = TicketRow{r->text(0, 0),  r->text(0, 1), r->int64(0, 2),
                      r->int64(0, 3), r->text(0, 4), r->int64(0, 5)};
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

void PgStore::setLeaseQuotas(LeaseQuotas quotas) {
  std::lock_guard lk(quota_mu_);
  quotas_ = quotas;
}

LeaseQuotas PgStore::leaseQuotas() {
  std::lock_guard lk(quota_mu_);
  return quotas_;
}

core::Status PgStore::insertLease(const LeaseRow& lease) {
  const LeaseQuotas quotas = leaseQuotas();
  return inTxn([&](Conn& c) {
    if (core::Status q = pg::countActiveLease(c, lease, quotas); !q.ok()) return q;
    return insertLeaseRow(c, lease);
  });
}

void PgStore::insertLeaseAsync(LeaseRow lease, InsertDone done) {
  insertLeaseAudited(std::move(lease), {}, std::move(done));
}

void PgStore::insertLeaseAudited(LeaseRow lease, std::vector<std::string> audit, InsertDone done) {
  if (!audit.empty() && audit_replica_.empty())
    return done(core::Status(core::Code::kInternal, "this store does not keep the audit log"),
                std::nullopt);
  {
    std::lock_guard lk(qmu_);
    if (!stop_) {
      queue_.push_back({std::move(lease), std::move(done), std::move(audit)});
      qcv_.notify_one();
      return;
    }
  }
  done(core::unavailable("the store is closing"), std::nullopt);
}

core::Status PgStore::appendAudit(const std::vector<std::string>& bodies, int64_t now_ms) {
  if (audit_replica_.empty())
    return core::Status(core::Code::kInternal, "this store does not keep the audit log");
  Appended appended{bodies, {}};
  core::Status st = inTxn([&](Conn& c) {
    return pg::appendAudit(c, audit_replica_, appended.bodies, now_ms, &appended.head);
  });
  if (st.ok()) copyAudit(std::move(appended));
  return st;
}

void PgStore::noteAuditHead(pg::ChainHead head) {
  std::lock_guard lk(head_mu_);
  if (!head_hint_ || head.seq > head_hint_->seq) head_hint_ = std::move(head);
}

std::optional<pg::ChainHead> PgStore::auditHead() {
  std::lock_guard lk(head_mu_);
  return head_hint_;
}

void PgStore::forgetAuditHead() {
  std::lock_guard lk(head_mu_);
  head_hint_.reset();
}

namespace {
core::StatusOr<std::optional<LeaseRow>> oneLease(Conn& c, const char* sql, const std::string& key) {
  auto r = c.query(sql, {key}, "get lease");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<LeaseRow>();
  return std::optional<LeaseRow>(pg::leaseFrom(*r, 0));
}
}  // namespace

#define PG_ONE_LEASE(sql, key)                            \
  std::optional<LeaseRow> out;                            \
  core::Status st = onConn([&](Conn& c) -> core::Status { \
    auto r = oneLease(c, sql, key);                       \
    if (r.ok()) out = std::move(*r);                      \
    return r.status();                                    \
  });                                                     \
  if (!st.ok()) return st;                                \
  return out

core::StatusOr<std::optional<LeaseRow>> PgStore::getLease(const std::string& id) {
  PG_ONE_LEASE(PG_LEASE_SELECT "WHERE id = $1", id);
}

core::StatusOr<std::optional<LeaseRow>> PgStore::findLeaseByJti(const std::string& jti) {
  PG_ONE_LEASE(PG_LEASE_SELECT "WHERE jti = $1", jti);
}

core::StatusOr<std::optional<LeaseRow>> PgStore::findLeaseBySerial(const std::string& serial) {
  PG_ONE_LEASE(PG_LEASE_SELECT "WHERE serial = $1", serial);
}

core::StatusOr<std::vector<LeaseRow>> PgStore::listLeases(const LeaseFilter& f) {
  std::vector<LeaseRow> out;
  core::Status st = onConn([&](Conn& c) -> core::Status {
    auto r = c.query(PG_LEASE_SELECT
                     "WHERE ($1::text = '' OR ticket = $1::text) "
                     "AND ($2::text = '' OR subject = $2::text) "
                     "AND ($3::int < 0 OR state = $3::int) AND id > $4::text "
                     "AND ($6::int = 0 OR review = 1) "
                     "AND ($7::text = '' OR grant_name = $7::text) "
                     "AND ($8::int < 0 OR kind = $8::int) ORDER BY id LIMIT $5",
                     {f.ticket, f.subject, f.state ? static_cast<int>(*f.state) : -1, f.after_id,
                      f.limit, static_cast<int>(f.review_only), f.grant,
                      f.kind ? static_cast<int>(*f.kind) : -1},
                     "list leases");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) out.push_back(pg::leaseFrom(*r, i));
    return core::okStatus();
  });
  if (!st.ok()) return st;
  return out;
}

core::Status PgStore::enqueueDatabaseJobs(Conn& c, const std::vector<EndedLease>& ended,
                                          const std::string& reason, int64_t now) {
  std::vector<std::string> ids, payloads;
  for (const auto& l : ended) {
    if (l.kind != LeaseKind::kDatabase) continue;
    ids.push_back(l.id);
    payloads.push_back(databaseJobPayload(l, reason, now));
  }
  if (ids.empty()) return core::okStatus();
  auto r = c.query(
      "INSERT INTO jobs (lease_id, payload, next_at, kind) "
      "SELECT l, p, $3, 'database' FROM unnest($1::text[], $2::text[]) AS u(l, p)",
      {Param::array(ids), Param::array(payloads), now}, "enqueue database jobs");
  return r.status();
}

core::Status PgStore::enqueueJobs(Conn& c, const std::vector<EndedLease>& ended,
                                  const std::string& reason, int64_t now) {
  if (auto st = enqueueDatabaseJobs(c, ended, reason, now); !st.ok()) return st;
  if (!jobs_ || ended.empty()) return core::okStatus();
  std::vector<std::string> ids, payloads;
  for (const auto& l : ended) {
    ids.push_back(l.id);
    payloads.push_back(revocationPayload(l, reason, now));
  }
  // One statement for every job, however many leases the revocation ended.
  auto r = c.query(
      "INSERT INTO jobs (lease_id, payload, next_at) "
      "SELECT l, p, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY "
      "AS u(l, p, n) ORDER BY n",
      {Param::array(ids), Param::array(payloads), now}, "enqueue jobs");
  return r.status();
}

}  // namespace jitb::store
