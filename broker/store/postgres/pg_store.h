// PostgreSQL backend of store::Store, for several replicas sharing one database.
//
// Every connection runs READ COMMITTED; where a method's meaning depends on what a concurrent
// transaction does, it takes an explicit row lock or relies on an UPDATE's re-check of its WHERE
// against the latest committed row (each method says which). SERIALIZABLE is not used: its
// aborts would turn every hot ticket into retries, while the few rows that matter are known.
// Thread-safe; every method may block on the network and returns Unavailable when the server
// cannot be reached, so callers fail closed and retry.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/store/postgres/pg_audit.h"
#include "broker/store/postgres/pg_lease_insert.h"
#include "broker/store/postgres/pg_pool.h"
#include "broker/store/store.h"

namespace jitb::store {

struct PgOptions {
  size_t max_connections = 8;
  // Threads that write insertLeaseAsync's groups (each holds a connection meanwhile). One is
  // the fastest when leases share a subject or ticket: concurrent groups queue on the same
  // count rows until the one ahead commits, each with a smaller group and its own flush
  // (tokens at 16 connections: 4 workers 943-1,225/s, 2 workers 1,165-2,135/s, 1 worker
  // 1,305-2,441/s, in alternating runs on the shared 2-core machine).
  size_t async_workers = 1;
  // The most queued inserts one worker writes in one transaction (group commit).
  size_t insert_group_max = 256;
  // Used when the URI sets no connect_timeout: a server that is gone is reported within it.
  int connect_timeout_s = 2;
  // How long a call waits for a pooled connection when all are busy before it is Unavailable.
  int acquire_wait_ms = 1000;
  // How long a job handed out by dueJobs stays hidden from other callers: a replica that dies
  // while delivering it leaves it to another after this.
  int64_t job_claim_ms = 5 * 60 * 1000;
};

class PgStore final : public Store {
 public:
  // Connects to `uri` (a libpq URI or key=value string, passed to libpq unchanged), creates or
  // migrates the schema under an advisory lock, and starts the async insert workers.
  static core::StatusOr<std::unique_ptr<PgStore>> open(const std::string& uri,
                                                       PgOptions options = {});
  ~PgStore() override;

  core::StatusOr<TicketWrite> putTicket(const TicketRow& row) override;
  core::StatusOr<std::optional<TicketRow>> getTicket(const std::string& id) override;
  void setLeaseQuotas(LeaseQuotas quotas) override;
  core::Status insertLease(const LeaseRow& lease) override;
  // `done` runs on the store's completion thread, one completion at a time in the order the
  // groups committed, so that a worker starts the next group while the last one's callers
  // are answered; the ticket it gets was read FOR SHARE in the insert's own statement.
  void insertLeaseAsync(LeaseRow lease, InsertDone done) override;
  core::StatusOr<std::optional<LeaseRow>> getLease(const std::string& id) override;
  core::StatusOr<std::optional<LeaseRow>> findLeaseByJti(const std::string& jti) override;
  core::StatusOr<std::optional<LeaseRow>> findLeaseBySerial(const std::string& serial) override;
  core::StatusOr<std::vector<LeaseRow>> listLeases(const LeaseFilter& filter) override;
  core::StatusOr<std::vector<EndedLease>> revokeTicket(const std::string& ticket,
                                                       const std::string& reason,
                                                       int64_t now) override;
  core::StatusOr<std::vector<EndedLease>> endLeases(const std::vector<std::string>& ids,
                                                    LeaseState state, const std::string& reason,
                                                    int64_t now) override;
  core::StatusOr<std::vector<EndedLease>> expireDue(int64_t now) override;
  // The same with `audit`'s records on this replica's chain in the ending transaction
  // (pg_store_ends.cc; endWindowsDueAudited in pg_store_tickets.cc). An empty `audit`: as
  // without.
  core::StatusOr<std::vector<EndedLease>> revokeTicketAudited(const std::string& ticket,
                                                              const std::string& reason,
                                                              int64_t now,
                                                              const EndAudit& audit) override;
  core::StatusOr<std::vector<EndedLease>> endLeasesAudited(const std::vector<std::string>& ids,
                                                           LeaseState state,
                                                           const std::string& reason, int64_t now,
                                                           const EndAudit& audit) override;
  core::StatusOr<std::vector<EndedLease>> expireDueAudited(int64_t now,
                                                           const EndAudit& audit) override;
  core::StatusOr<std::vector<EndedLease>> endWindowsDueAudited(int64_t after, int64_t now,
                                                               const EndAudit& audit) override;
  core::Status forEachActive(const std::function<void(const LeaseRow&)>& fn) override;
  core::StatusOr<std::vector<LeaseRow>> revokedUnexpiredCertificates(int64_t now) override;
  core::StatusOr<std::vector<LeaseRow>> revokedUnexpiredSsh(int64_t now) override;
  core::StatusOr<std::vector<ActiveTicket>> activeTickets() override;
  core::StatusOr<bool> markReviewed(const std::string& id) override;
  core::StatusOr<int64_t> nextCounter(const std::string& name) override;
  core::StatusOr<bool> claimDelivery(const std::string& key, int64_t now) override;
  core::Status releaseDelivery(const std::string& key) override;
  core::Status insertAcme(const AcmeRow& row) override;
  core::StatusOr<std::optional<AcmeRow>> getAcme(const std::string& id) override;
  core::StatusOr<bool> updateAcme(const AcmeRow& row, const std::string& expected_status) override;
  core::StatusOr<std::vector<AcmeRow>> listAcme(const std::string& kind,
                                                const std::string& account) override;
  core::StatusOr<bool> insertKeyMaterial(const KeyMaterialRow& row) override;
  core::StatusOr<std::vector<KeyMaterialRow>> listKeyMaterial(const std::string& purpose) override;
  void enableRevocationJobs() override { jobs_ = true; }
  // Claims the rows it returns (see PgOptions::job_claim_ms) so that replicas running the
  // dispatcher together do not deliver a job twice; finishJob/retryJob end the claim.
  core::StatusOr<std::vector<JobRow>> dueJobs(int64_t now, int limit) override;
  core::StatusOr<std::vector<JobRow>> dueJobsOf(const std::string& kind, int64_t now,
                                                int limit) override;
  core::Status updateLeaseClaims(const std::string& id, const std::string& claims) override;
  core::Status finishJob(int64_t id) override;
  core::Status retryJob(int64_t id, int attempts, int64_t next_at, JobState state,
                        const std::string& error) override;
  core::StatusOr<std::pair<int64_t, int64_t>> jobCounts() override;
  // pg_store_tickets.cc (each says which locks it takes and why).
  core::StatusOr<TicketApplied> applyTicket(const TicketRow& row,
                                            const TicketEffect& effect) override;
  core::Status finishReview(const std::string& ticket, int64_t updated_at) override;
  core::StatusOr<std::vector<TicketRow>> pendingReviews(int64_t received_before,
                                                        int limit) override;
  core::StatusOr<std::vector<EndedLease>> endWindowsDue(int64_t after, int64_t now) override;

  // pg_store_events.cc: the revocation events that migration 0012's trigger appends.
  core::StatusOr<std::vector<RevocationEvent>> revocationEventsAfter(int64_t after_seq,
                                                                     int limit) override;
  core::StatusOr<int64_t> revocationSeqBefore(int64_t created_before_ms) override;
  core::StatusOr<int64_t> pruneRevocationEvents(int64_t created_before_ms) override;
  uint64_t roundTrips() const override { return round_trips_.load(std::memory_order_relaxed); }

  // The audit log in the store (pg_audit.h): from this call on (before any other), the records
  // of a change are written in its transaction, on `replica`'s chain.
  // `copy`, when set, is given the bodies of every committed append (the replica's file log
  // keeps a copy, which its admin views read); it must be quick and never wait for the store.
  using AuditCopy = std::function<void(std::vector<std::string>)>;
  void keepAuditAs(std::string replica, AuditCopy copy = {}) {
    audit_replica_ = std::move(replica);
    audit_copy_ = std::move(copy);
  }
  bool auditsInTransaction() const override { return !audit_replica_.empty(); }
  // insertLeaseAsync's transaction, with the records appended to the chain in it.
  void insertLeaseAudited(LeaseRow lease, std::vector<std::string> audit,
                          InsertDone done) override;
  // Records that go with no change of the store's, in a transaction of their own.
  core::Status appendAudit(const std::vector<std::string>& bodies, int64_t now_ms);

  // pg_leader.cc, pg_crl.cc.
  core::StatusOr<Leadership> claimLeadership(const std::string& replica, int64_t now,
                                             int64_t lease_ms) override;
  core::StatusOr<std::optional<StoredCrl>> getCrl(const std::string& issuer) override;
  core::StatusOr<bool> putCrl(const std::string& issuer, const StoredCrl& crl) override;

  // Runs every queued async insert, then refuses new work (Unavailable). For shutdown: after it
  // returns no completion is pending.
  void close();

 private:
  PgStore(const std::string& uri, PgOptions options);
  using TxnFn = std::function<core::Status(pg::Conn&)>;
  // Runs `fn` in one transaction, opened by `begin`; a serialization failure or deadlock
  // reruns it whole.
  core::Status inTxn(const TxnFn& fn, const char* begin = "BEGIN");
  // Runs `fn` on a pooled connection outside an explicit transaction (single statements).
  core::Status onConn(const TxnFn& fn);
  // The first column of the first row of `sql` (a literal; see pg::Conn::query), on onConn.
  core::StatusOr<int64_t> queryInt64(const char* sql, const std::vector<pg::Param>& params,
                                     std::string_view what);
  void asyncLoop();
  // `rows` in one transaction (pg_lease_insert.h); `out` holds each one's outcome on success.
  // `audits[i]`: the record bodies of rows[i], committed with it (none: one statement alone).
  core::Status insertGroup(const std::vector<const LeaseRow*>& rows,
                           const std::vector<const std::vector<std::string>*>& audits,
                           const LeaseQuotas& quotas, std::vector<pg::InsertOutcome>& out);
  // The ended leases' hook jobs, in the caller's transaction.
  core::Status enqueueJobs(pg::Conn& c, const std::vector<EndedLease>& ended,
                           const std::string& reason, int64_t now);
  // What a transaction appended to this replica's chain: its records, for the copy, and the
  // head they left, for the hint; both handed on by copyAudit once it committed.
  struct Appended {
    std::vector<std::string> bodies;
    pg::ChainHead head;
  };
  // `audit`'s records of `ended`, appended to this replica's chain in the caller's transaction
  // (none without `audit`), into `out`.
  core::Status auditEnds(pg::Conn& c, const EndAudit& audit, const std::vector<EndedLease>& ended,
                         int64_t now, Appended& out);
  // Refuses an audited end on a store that keeps no chain (ok otherwise).
  core::Status auditKept(const EndAudit& audit) const;
  // Hands committed records to keepAuditAs' `copy`, and their head to the hint.
  void copyAudit(Appended appended);
  // The ended database leases' role revocations (any end, hooks enabled or not).
  core::Status enqueueDatabaseJobs(pg::Conn& c, const std::vector<EndedLease>& ended,
                                   const std::string& reason, int64_t now);

  PgOptions opts_;
  pg::Pool pool_;
  std::atomic<bool> jobs_{false};
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> round_trips_{0};  // successful onConn/inTxn calls
  std::mutex quota_mu_;
  LeaseQuotas quotas_;
  LeaseQuotas leaseQuotas();

  struct AsyncInsert {
    LeaseRow lease;
    InsertDone done;
    std::vector<std::string> audit;  // record bodies for the chain, in the same transaction
  };
  std::string audit_replica_;
  AuditCopy audit_copy_;
  // This replica's chain head as its own commits left it, so that a group's records are chained
  // before the one statement that writes them (insertGroup). Only a hint: that statement checks
  // it under the head's lock, and a head another writer moved costs one refused try, after
  // which the locked path learns it again. Commits note it out of order: the larger seq wins.
  std::mutex head_mu_;
  std::optional<pg::ChainHead> head_hint_;
  void noteAuditHead(pg::ChainHead head);
  std::optional<pg::ChainHead> auditHead();
  void forgetAuditHead();
  std::mutex qmu_;
  std::condition_variable qcv_;
  std::deque<AsyncInsert> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
  // Committed groups' completions, run in order by completer_.
  void completeLoop();
  std::mutex cmu_;
  std::condition_variable ccv_;
  std::deque<std::function<void()>> completions_;
  bool cstop_ = false;
  std::thread completer_;
};

}  // namespace jitb::store
