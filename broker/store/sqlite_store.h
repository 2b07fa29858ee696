// SQLite backend: WAL mode, synchronous=FULL, and group commit. Writes from many threads are
// queued to one writer thread that runs everything waiting in one transaction (one fsync for
// many leases); reads use a pool of connections that WAL lets run beside the writer.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/store/store.h"

struct sqlite3;

namespace jitb::store {

class SqliteConn;
class Stmt;

class SqliteStore final : public Store {
 public:
  static core::StatusOr<std::unique_ptr<SqliteStore>> open(const std::string& path);
  ~SqliteStore() override;

  core::StatusOr<TicketWrite> putTicket(const TicketRow& row) override;
  core::StatusOr<std::optional<TicketRow>> getTicket(const std::string& id) override;
  void setLeaseQuotas(LeaseQuotas quotas) override;
  core::Status insertLease(const LeaseRow& lease) override;
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
  core::StatusOr<std::vector<JobRow>> dueJobs(int64_t now, int limit) override;
  core::StatusOr<std::vector<JobRow>> dueJobsOf(const std::string& kind, int64_t now,
                                                int limit) override;
  core::Status updateLeaseClaims(const std::string& id, const std::string& claims) override;
  core::Status finishJob(int64_t id) override;
  core::Status retryJob(int64_t id, int attempts, int64_t next_at, JobState state,
                        const std::string& error) override;
  core::StatusOr<std::pair<int64_t, int64_t>> jobCounts() override;
  // sqlite_store_tickets.cc: one write operation each, so one transaction of the group commit.
  core::StatusOr<TicketApplied> applyTicket(const TicketRow& row,
                                            const TicketEffect& effect) override;
  core::Status finishReview(const std::string& ticket, int64_t updated_at) override;
  core::StatusOr<std::vector<TicketRow>> pendingReviews(int64_t received_before,
                                                        int limit) override;
  core::StatusOr<std::vector<EndedLease>> endWindowsDue(int64_t after, int64_t now) override;

  // Runs every write queued so far, then refuses new ones (Unavailable). For shutdown: after
  // it returns no completion is pending, so what completions reference may be destroyed.
  void close();

  // Transactions committed and operations they carried, for the group-commit metric.
  uint64_t commits() const { return commits_; }
  uint64_t committedOps() const { return committed_ops_; }

 private:
  explicit SqliteStore(std::string path);
  using WriteFn = std::function<core::Status(SqliteConn&)>;
  using WriteDone = std::function<void(core::Status)>;
  struct WriteOp {
    WriteFn fn;
    WriteDone done;  // on the writer thread, after the commit
    bool one_write;  // at most one modifying statement, run last: needs no savepoint
  };
  core::Status write(WriteFn fn, bool one_write = false);
  void writeAsync(WriteFn fn, WriteDone done, bool one_write = false);
  void writerLoop();
  // Runs `update` (an UPDATE of leases ... WHERE state = 0 RETURNING the EndedLease columns in
  // their order), appends what it ended to `out` and, with jobs enabled, writes their hook jobs.
  core::Status endReturning(SqliteConn& c, Stmt& update, const std::string& reason, int64_t now,
                            std::vector<EndedLease>& out);

  // A read connection from the pool, returned when the holder goes out of scope.
  class Reader {
   public:
    Reader(SqliteStore& s, std::unique_ptr<SqliteConn> c);
    ~Reader();
    SqliteConn& operator*() { return *conn_; }
    SqliteConn* operator->() { return conn_.get(); }
    bool ok() const { return conn_ != nullptr; }

   private:
    SqliteStore& store_;
    std::unique_ptr<SqliteConn> conn_;
  };
  Reader reader();

  std::string path_;
  std::unique_ptr<SqliteConn> writer_;
  std::mutex qmu_;
  std::condition_variable qcv_;
  std::deque<WriteOp> queue_;
  bool stop_ = false;
  std::thread writer_thread_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<SqliteConn>> pool_;
  std::atomic<uint64_t> commits_{0}, committed_ops_{0};
  std::atomic<bool> jobs_{false};
  std::mutex quota_mu_;
  LeaseQuotas quotas_;
  LeaseQuotas leaseQuotas();
};

}  // namespace jitb::store
