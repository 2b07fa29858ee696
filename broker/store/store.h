// The durable store behind the broker: tickets, leases, counters. An interface so that a
// PostgreSQL backend can replace SQLite for several replicas, and so tests can mock it.
// Every method is thread-safe. Writes are durable when they return OK.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/status.h"
#include "broker/store/records.h"

namespace jitb::store {

enum class TicketWrite { kApplied, kIgnoredNotNewer, kIgnoredTerminal };

struct LeaseFilter {
  std::string ticket, subject, grant;  // empty: any
  std::optional<LeaseState> state;
  std::optional<LeaseKind> kind;  // nullopt: any
  std::string after_id;  // pagination cursor: ids sort by issue order
  bool review_only = false;
  int limit = 100;
};

// What a bulk state change touched, for fan-out (OCSP/CRL caches, hooks, metrics).
struct EndedLease {
  std::string id;
  LeaseKind kind;
  std::string serial;
  std::string jti;
  int64_t expires_at;
  std::string ticket;
  std::string subject;
};

// A ticket that has active leases: the lease manager settles it or arms its window timer.
struct ActiveTicket {
  std::string id;
  std::string state;
  int64_t window_end;
};

// A lease's ticket as the transaction that inserted the lease read it.
struct TicketState {
  std::string state;
  int64_t window_end = 0;
  std::string json;  // the stored ticket, so the decision can be checked against it
};
// nullopt ticket: no row for it.
using InsertDone = std::function<void(core::Status, std::optional<TicketState>)>;

class Store {
 public:
  virtual ~Store() = default;

  // Inserts or replaces the ticket as a conditional write, so concurrent deliveries agree.
  // A stored terminal ticket never changes. Otherwise the row is written when its updated_at
  // is newer than the stored one, when it is terminal (whatever its updated_at), or when both
  // carry the same updated_at and the row's state is the more restrictive (terminal over
  // pending over approved).
  virtual core::StatusOr<TicketWrite> putTicket(const TicketRow& row) = 0;
  virtual core::StatusOr<std::optional<TicketRow>> getTicket(const std::string& id) = 0;

  // Durable before it returns: the caller may then hand the credential out.
  virtual core::Status insertLease(const LeaseRow& lease) = 0;
  // Queues the insert and returns at once, so that no thread waits for the sync. `done` runs
  // once the lease is durable (or failed to be), on the store's writer thread: it must be quick
  // and never wait for the store. It gets the ticket as the inserting transaction read it, so
  // a close committed just before the insert is never missed.
  virtual void insertLeaseAsync(LeaseRow lease, InsertDone done) = 0;
  virtual core::StatusOr<std::optional<LeaseRow>> getLease(const std::string& id) = 0;
  virtual core::StatusOr<std::optional<LeaseRow>> findLeaseByJti(const std::string& jti) = 0;
  virtual core::StatusOr<std::optional<LeaseRow>> findLeaseBySerial(const std::string& serial) = 0;
  virtual core::StatusOr<std::vector<LeaseRow>> listLeases(const LeaseFilter& filter) = 0;

  // Ends every active lease of `ticket` in one statement.
  virtual core::StatusOr<std::vector<EndedLease>> revokeTicket(const std::string& ticket,
                                                               const std::string& reason,
                                                               int64_t now) = 0;
  // Ends one lease if it is still active; returns it when it changed. endLeases of one.
  virtual core::StatusOr<std::optional<EndedLease>> endLease(const std::string& id,
                                                             LeaseState state,
                                                             const std::string& reason,
                                                             int64_t now) {
    auto ended = endLeases({id}, state, reason, now);
    if (!ended.ok()) return ended.status();
    if (ended->empty()) return std::optional<EndedLease>();
    return std::optional<EndedLease>(std::move(ended->front()));
  }
  // Ends those of `ids` that are still active, in one transaction; returns the ones it changed.
  virtual core::StatusOr<std::vector<EndedLease>> endLeases(const std::vector<std::string>& ids,
                                                            LeaseState state,
                                                            const std::string& reason,
                                                            int64_t now) = 0;
  // Marks every active lease with expires_at <= now as expired.
  virtual core::StatusOr<std::vector<EndedLease>> expireDue(int64_t now) = 0;

  // Active leases, for rebuilding timers and quota counts at start.
  virtual core::Status forEachActive(const std::function<void(const LeaseRow&)>& fn) = 0;
  // Revoked certificates that have not yet expired: the CRL's entries.
  virtual core::StatusOr<std::vector<LeaseRow>> revokedUnexpiredCertificates(int64_t now) = 0;
  // Every ticket that still has active leases, with its state and window end. A lease whose
  // ticket row is missing is reported with state "unknown".
  virtual core::StatusOr<std::vector<ActiveTicket>> activeTickets() = 0;

  // When enabled, every lease revoked by revokeTicket/endLease gets a pending job in the same
  // transaction, so a crash can never drop the downstream revocation.
  virtual void enableRevocationJobs() = 0;
  // Pending or attention jobs whose next_at <= now, oldest first.
  virtual core::StatusOr<std::vector<JobRow>> dueJobs(int64_t now, int limit) = 0;
  virtual core::Status finishJob(int64_t id) = 0;
  virtual core::Status retryJob(int64_t id, int attempts, int64_t next_at, JobState state,
                                const std::string& error) = 0;
  // {pending, attention}
  virtual core::StatusOr<std::pair<int64_t, int64_t>> jobCounts() = 0;

  // Marks a break-glass lease's review done (it leaves the review_only listing). True when it
  // changed; false when the lease was already reviewed. NotFound when no break-glass lease has
  // that id.
  virtual core::StatusOr<bool> markReviewed(const std::string& id) {
    (void)id;
    return core::Status(core::Code::kInternal, "this store cannot record reviews");
  }

  // Monotonic named counter (e.g. the CRL number): returns the incremented value.
  virtual core::StatusOr<int64_t> nextCounter(const std::string& name) = 0;

  // Single-use delivery ids (webhook deliveries that their sender retries with the same id):
  // true only for the first claim of `key`. Claims older than a week are forgotten.
  // releaseDelivery undoes a claim whose processing failed, so that the retry is processed.
  virtual core::StatusOr<bool> claimDelivery(const std::string& key, int64_t now) = 0;
  virtual core::Status releaseDelivery(const std::string& key) = 0;
};

// Every lease `filter` matches, page by page in id order (filter.limit rows a read).
inline core::Status forEachLease(Store& store, LeaseFilter filter,
                                 const std::function<void(const LeaseRow&)>& fn) {
  for (;;) {
    auto page = store.listLeases(filter);
    if (!page.ok()) return page.status();
    for (const auto& l : *page) fn(l);
    if (page->size() < static_cast<size_t>(filter.limit)) return core::okStatus();
    filter.after_id = page->back().id;
  }
}

}  // namespace jitb::store
