// The durable store behind the broker: tickets, leases, counters. An interface so that a
// PostgreSQL backend can replace SQLite for several replicas, and so tests can mock it.
// Every method is thread-safe. Writes are durable when they return OK.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
// One lease end as the revocation fan-out between replicas reads it (revocationEventsAfter).
struct RevocationEvent {
  int64_t seq = 0;
  EndedLease lease;
  LeaseState state = LeaseState::kRevoked;
  std::string reason;
  int64_t ended_at = 0;    // the ending replica's clock, ms
  int64_t created_at = 0;  // the store's clock when the event was written, ms
};

// Limits on active leases, enforced by every lease insert in its own transaction against counts
// kept in the database, so that replicas sharing it share the limits.
struct LeaseQuotas {
  int64_t per_subject = 1000;
  int64_t per_ticket = 10000;
};

// nullopt ticket: no row for it.
using InsertDone = std::function<void(core::Status, std::optional<TicketState>)>;

// The audit records (audit::recordBody texts) of what one ending call ended, made by its
// caller from the leases the statement returned. A store that auditsInTransaction() calls it
// inside the ending transaction, after the end and before the commit, and appends what it
// returns to its chain there: the ends and their records commit together or not at all, so a
// crash cannot lose the record of an acknowledged revocation. Called once a transaction (again
// if it is rerun), also when nothing ended; it must be quick and must not use the store.
using EndAudit = std::function<std::vector<std::string>(const std::vector<EndedLease>&)>;

// What a ticket event does to the ticket's leases, in the transaction that writes the ticket
// (applyTicket). Decided by the caller from the event alone, so the store knows no policy.
struct TicketEffect {
  enum class Kind {
    kNone,       // only the write (putTicket)
    kRevokeAll,  // every active lease of the ticket ends: revoked, `reason`, hook jobs
    kReview,     // the ticket is marked review pending (see pendingReviews)
  };
  Kind kind = Kind::kNone;
  std::string reason;
  int64_t now = 0;  // kRevokeAll: the leases' ended_at
  // The event's audit record (an audit::recordBody text), committed in the write's transaction
  // when the write applies, by a store that auditsInTransaction(); others ignore it.
  std::string audit_applied = {};
  // kRevokeAll: the records of the leases it ends (see EndAudit), committed with their end by a
  // store that auditsInTransaction(); others ignore it.
  EndAudit audit_ended = {};
};

struct TicketApplied {
  TicketWrite write = TicketWrite::kApplied;
  std::vector<EndedLease> ended;  // what kRevokeAll ended, when the write applied
};

// Who does the work one replica should do (see Store::claimLeadership).
struct Leadership {
  bool leads = false;  // the caller holds the row now
  std::string holder;
  int64_t term = 0;        // grows by one each time the row changes hands (or is taken again)
  int64_t expires_at = 0;  // Unix ms
};

// A CRL as one replica built it, for every replica to serve (Store::putCrl).
struct StoredCrl {
  int64_t number = 0;
  int64_t this_update = 0;  // Unix ms
  std::string der;
};

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

  // The limits this store's inserts enforce (LeaseQuotas' defaults until set). A lease inserted
  // active counts against its subject and its ticket; the count falls in the transaction that
  // ends it, whatever the path (revokeTicket, endLeases, expireDue, or any later one).
  virtual void setLeaseQuotas(LeaseQuotas quotas) = 0;

  // Durable before it returns: the caller may then hand the credential out. ResourceExhausted,
  // with nothing written, when the lease would exceed a quota (quotaRefused() names which).
  virtual core::Status insertLease(const LeaseRow& lease) = 0;
  // Queues the insert and returns at once, so that no thread waits for the sync (a quota
  // refusal, too, comes through `done`). `done` runs
  // once the lease is durable (or failed to be), on the store's writer thread: it must be quick
  // and never wait for the store. It gets the ticket as the inserting transaction read it, so
  // a close committed just before the insert is never missed.
  virtual void insertLeaseAsync(LeaseRow lease, InsertDone done) = 0;
  // Whether this store keeps the audit log itself (PostgreSQL with several replicas): then the
  // audit records of a change are written in its transaction, through the calls below.
  virtual bool auditsInTransaction() const { return false; }
  // insertLeaseAsync, with `audit` (audit::recordBody texts, the issuance's records) committed
  // in the insert's transaction: both or neither. Only for a store that auditsInTransaction().
  virtual void insertLeaseAudited(LeaseRow lease, std::vector<std::string> audit,
                                  InsertDone done) {
    if (!audit.empty())
      return done(core::Status(core::Code::kInternal, "this store does not keep the audit log"),
                  std::nullopt);
    insertLeaseAsync(std::move(lease), std::move(done));
  }
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

  // revokeTicket, endLeases, expireDue and endWindowsDue with `audit`'s records committed in the
  // ending transaction. Only for a store that auditsInTransaction(): others end nothing and
  // refuse (Internal), as insertLeaseAudited does, rather than drop the records.
  virtual core::StatusOr<std::vector<EndedLease>> revokeTicketAudited(const std::string& ticket,
                                                                      const std::string& reason,
                                                                      int64_t now,
                                                                      const EndAudit& audit) {
    (void)ticket, (void)reason, (void)now, (void)audit;
    return core::Status(core::Code::kInternal, "this store does not keep the audit log");
  }
  virtual core::StatusOr<std::vector<EndedLease>> endLeasesAudited(
      const std::vector<std::string>& ids, LeaseState state, const std::string& reason,
      int64_t now, const EndAudit& audit) {
    (void)ids, (void)state, (void)reason, (void)now, (void)audit;
    return core::Status(core::Code::kInternal, "this store does not keep the audit log");
  }
  virtual core::StatusOr<std::vector<EndedLease>> expireDueAudited(int64_t now,
                                                                   const EndAudit& audit) {
    (void)now, (void)audit;
    return core::Status(core::Code::kInternal, "this store does not keep the audit log");
  }
  virtual core::StatusOr<std::vector<EndedLease>> endWindowsDueAudited(int64_t after, int64_t now,
                                                                       const EndAudit& audit) {
    (void)after, (void)now, (void)audit;
    return core::Status(core::Code::kInternal, "this store does not keep the audit log");
  }

  // Active leases, for rebuilding timers and quota counts at start.
  virtual core::Status forEachActive(const std::function<void(const LeaseRow&)>& fn) = 0;
  // Revoked certificates that have not yet expired: the CRL's entries.
  virtual core::StatusOr<std::vector<LeaseRow>> revokedUnexpiredCertificates(int64_t now) = 0;
  // Revoked SSH certificates that have not yet expired: the KRL's entries.
  virtual core::StatusOr<std::vector<LeaseRow>> revokedUnexpiredSsh(int64_t now) = 0;
  // Every ticket that still has active leases, with its state and window end. A lease whose
  // ticket row is missing is reported with state "unknown".
  virtual core::StatusOr<std::vector<ActiveTicket>> activeTickets() = 0;

  // When enabled, every lease revoked by revokeTicket/endLease gets a pending job in the same
  // transaction, so a crash can never drop the downstream revocation.
  virtual void enableRevocationJobs() = 0;
  // Pending or attention jobs whose next_at <= now, oldest first.
  virtual core::StatusOr<std::vector<JobRow>> dueJobs(int64_t now, int limit) = 0;
  // The same for jobs of another kind (JobRow::kind). Every lease of kind database that ends
  // (revoked or expired) gets a "database" job in the ending transaction, whether or not hook
  // jobs are enabled; dueJobs hands out "hook" jobs only.
  virtual core::StatusOr<std::vector<JobRow>> dueJobsOf(const std::string& kind, int64_t now,
                                                        int limit) = 0;
  // Replaces a lease's claims text (database leases record their revocation's progress there).
  virtual core::Status updateLeaseClaims(const std::string& id, const std::string& claims) = 0;
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

  // Takes the leader row for `replica` until now + lease_ms when its expiry has passed, or
  // renews it when `replica` holds it; returns the row as it then stands. A conditional write,
  // so two contenders never both hold it for one instant of the store's. Only to avoid
  // duplicate effort: nothing relies on it for safety. A store that serves one broker (SQLite)
  // always grants it.
  virtual core::StatusOr<Leadership> claimLeadership(const std::string& replica, int64_t now,
                                                     int64_t lease_ms) {
    return Leadership{true, replica, 1, now + lease_ms};
  }
  // The CRL the replicas serve for `issuer`, when one is stored; NotFound when this store
  // keeps none (SQLite: one broker builds and serves its own).
  virtual core::StatusOr<std::optional<StoredCrl>> getCrl(const std::string& issuer) {
    (void)issuer;
    return core::notFound("this store keeps no CRL");
  }
  // Stores `crl` for `issuer` unless the stored one's number is not lower (CRL numbers only
  // grow): true when stored.
  virtual core::StatusOr<bool> putCrl(const std::string& issuer, const StoredCrl& crl) {
    (void)issuer;
    (void)crl;
    return core::notFound("this store keeps no CRL");
  }

  // Monotonic named counter (e.g. the CRL number): returns the incremented value.
  virtual core::StatusOr<int64_t> nextCounter(const std::string& name) = 0;

  // Single-use delivery ids (webhook deliveries that their sender retries with the same id):
  // true only for the first claim of `key`. Claims older than a week are forgotten.
  // releaseDelivery undoes a claim whose processing failed, so that the retry is processed.
  virtual core::StatusOr<bool> claimDelivery(const std::string& key, int64_t now) = 0;
  virtual core::Status releaseDelivery(const std::string& key) = 0;

  // putTicket's conditional write and, only when it applies, `effect` in the same transaction:
  // a crash or a failure leaves both or neither, so a redelivered event (ignored once the write
  // committed) can never find the ticket written and its leases still active. A write with
  // kRevokeAll also clears the review mark (nothing is left to review); kNone leaves it.
  virtual core::StatusOr<TicketApplied> applyTicket(const TicketRow& row,
                                                    const TicketEffect& effect) = 0;
  // Clears the review mark set by the write of `ticket` at `updated_at`; a mark set by a later
  // write stays (applied usable writes carry strictly increasing updated_at, so the pair names
  // one write).
  virtual core::Status finishReview(const std::string& ticket, int64_t updated_at) = 0;
  // Tickets marked review pending and received at or before `received_before`, oldest first:
  // reviews that a crash or a failure interrupted, for a sweep to run again.
  virtual core::StatusOr<std::vector<TicketRow>> pendingReviews(int64_t received_before,
                                                                int limit) = 0;
  // Ends (revoked, reason "window_ended", with hook jobs) every active lease of each ticket
  // whose window_end is in (after, now], whichever replica issued it, in one transaction that
  // waits for a concurrent write of those tickets (so an extension committed first is seen).
  // Found by the tickets' window_end index, so `after` bounds the work of a periodic poll.
  virtual core::StatusOr<std::vector<EndedLease>> endWindowsDue(int64_t after, int64_t now) = 0;
  // ACME objects (broker/acme). insertAcme: Conflict when the id is taken.
  virtual core::Status insertAcme(const AcmeRow& row) = 0;
  virtual core::StatusOr<std::optional<AcmeRow>> getAcme(const std::string& id) = 0;
  // Replaces the row only while its stored status is still `expected_status`; false when
  // another writer changed it first (a used EAB key, an order already finalized).
  virtual core::StatusOr<bool> updateAcme(const AcmeRow& row,
                                          const std::string& expected_status) = 0;
  // The rows of one kind owned by `account` (every account's when empty), in id order.
  virtual core::StatusOr<std::vector<AcmeRow>> listAcme(const std::string& kind,
                                                        const std::string& account) = 0;
  // Shared keys (keystore/). insertKeyMaterial writes the row unless its key_id or its
  // (purpose, version) is taken, and says whether it did: replicas that race to create or
  // rotate a key all insert, and those that lose read the winner's row back.
  virtual core::StatusOr<bool> insertKeyMaterial(const KeyMaterialRow& row) {
    (void)row;
    return core::Status(core::Code::kInternal, "this store cannot keep keys");
  }
  // The rows of `purpose`, lowest version first.
  virtual core::StatusOr<std::vector<KeyMaterialRow>> listKeyMaterial(const std::string& purpose) {
    (void)purpose;
    return core::Status(core::Code::kInternal, "this store cannot keep keys");
  }

  // Revocation fan-out between replicas. A store that several processes share (PostgreSQL)
  // appends one event per lease in the transaction that ends it, whatever the path; one
  // process alone (SQLite) needs none: its ends reach its listeners directly, so it appends
  // none and these return nothing.
  // The leases of the events with seq > after_seq, in seq order, from at most `limit` events.
  // One event (one seq) is one statement's ends and names all its leases, never split between
  // two reads. Sequence values are taken before their transactions commit, so a lower seq may
  // appear after a higher one was read.
  virtual core::StatusOr<std::vector<RevocationEvent>> revocationEventsAfter(int64_t after_seq,
                                                                             int limit) {
    (void)after_seq, (void)limit;
    return std::vector<RevocationEvent>{};
  }
  // The highest seq of the events written before `created_before_ms` (0: none): where a
  // reader that starts may begin.
  virtual core::StatusOr<int64_t> revocationSeqBefore(int64_t created_before_ms) {
    (void)created_before_ms;
    return int64_t{0};
  }
  // Forgets the events written before `created_before_ms`; returns how many (statements).
  virtual core::StatusOr<int64_t> pruneRevocationEvents(int64_t created_before_ms) {
    (void)created_before_ms;
    return int64_t{0};
  }
  // How many calls reached the store and got its answer, so far: any successful call is
  // proof the store is reachable (a busy store is slow, not gone). 0 when not counted.
  virtual uint64_t roundTrips() const { return 0; }
};

// A quota refusal of an insert: ResourceExhausted, the message safe to show, the detail the
// quota's name ("subject" or "ticket", a metric label).
core::Status quotaExceeded(std::string_view quota, int64_t limit);
// The quota `st` refused, or "" when it is no quota refusal.
std::string_view quotaRefused(const core::Status& st);

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
