// Leases (docs/development.md, after Vault's expiration manager): persist the lease, then arm its timer;
// rebuild timers from the store at start; end every lease at its TTL or with its ticket.
// The timers are a cache for exact timing of what this process knows: the timer thread also
// polls the store (expireDue, endWindowsDue) at a bounded interval, so that leases another
// replica issued expire and end with their ticket's window even when only this replica runs.
// Quotas on active leases per subject and per ticket are the store's (store::LeaseQuotas):
// each lease insert counts in its own transaction, so replicas sharing a database share them.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/core/offload.h"
#include "broker/leases/end_records.h"
#include "broker/metrics/registry.h"
#include "broker/store/store.h"
#include "broker/tickets/lease_events.h"

namespace jitb::leases {

using Quotas = store::LeaseQuotas;

// The decision judged a ticket; its lease's insert reads the ticket again in its transaction.
// When what it read differs from what was judged (or the policies changed meanwhile), the
// lease is judged again against the stored ticket before the credential may be handed out.
struct InsertCheck {
  // On the store's writer thread, so quick: true when the stored ticket (its JSON text) is
  // the one judged and the policies are unchanged.
  std::function<bool(const std::string& stored_json)> unchanged;
  // Through the offload (may block): the failed rule, or "" when the decision still allows.
  std::function<std::string(const std::string& stored_json)> rejudge;
};

// Called after leases end (expired or revoked), outside any lock, e.g. to re-sign the CRL.
using EndedListener =
    std::function<void(const std::vector<store::EndedLease>&, store::LeaseState)>;

class LeaseManager : public tickets::LeaseEvents {
 public:
  // `poll_interval`: how often the store is asked for what is due, whoever issued it.
  // Hands `quotas` to the store, whose lease inserts enforce them.
  LeaseManager(store::Store& store, audit::AuditSink& audit, const core::Clock& clock,
               Quotas quotas, metrics::Registry& metrics,
               std::chrono::milliseconds poll_interval = std::chrono::seconds(1));
  ~LeaseManager();

  // Rebuilds counts and timers from the store, settles what ended while the broker was down,
  // then starts the timer thread. ready() turns true only after that.
  core::Status start();
  void stop();
  bool ready() const { return ready_; }

  void addListener(EndedListener l);
  // Leases another replica ended (the revocation fan-out): only the listeners are told; the
  // replica that ended them counted and audited them.
  void endedElsewhere(const std::vector<store::EndedLease>& leases, store::LeaseState state);
  // Runs with every store poll (and the first, at start), outside any lock, on the timer thread:
  // periodic store work of other modules, e.g. the ticket service's review sweep.
  void addSweeper(std::function<void()> sweep);

  // Writes the lease durably (the store checks the quotas in the same transaction) and arms
  // its timer. ResourceExhausted when a quota would be exceeded; Unavailable when the store
  // cannot write, or when the ticket was closed (or its approval or window ended) while the
  // credential was being issued, in which case the lease is revoked at once. Only OK lets the
  // caller hand the credential out.
  core::Status record(const store::LeaseRow& lease, InsertCheck check = {});
  // record() without a thread waiting for the sync. `done` runs on the store's writer thread
  // once the lease is durable or refused (keep it quick), or through `offload` when the lease
  // had to be revoked because its ticket ended meanwhile. Same statuses as record().
  // With `check`, a lease whose ticket changed between the decision and the insert is judged
  // again (see InsertCheck) and revoked at once when the decision no longer allows it.
  void recordAsync(store::LeaseRow lease, std::function<void(core::Status)> done,
                   core::Offload offload, InsertCheck check = {});
  // The same, with the issuance's audit records (audit::recordBody texts) committed in the
  // insert's transaction, for a store that auditsInTransaction().
  void recordAuditedAsync(store::LeaseRow lease, std::vector<std::string> audit,
                          std::function<void(core::Status)> done, core::Offload offload,
                          InsertCheck check = {});

  // Arms (or re-arms) the timer that revokes the ticket's leases when its window ends.
  void watchWindow(const std::string& ticket, int64_t window_end_ms) override;

  // Ends every active lease of the ticket now; returns how many.
  core::StatusOr<size_t> revokeTicket(const std::string& ticket, const std::string& reason) override;
  size_t ticketLeasesEnded(const std::vector<store::EndedLease>& ended,
                           const std::string& reason) override;
  store::EndAudit endedAudit(const std::string& reason) override;
  // Ends one lease; false when it was not active.
  core::StatusOr<bool> revokeLease(const std::string& id, const std::string& reason);
  // Ends those of `ids` still active, in one store transaction; returns how many.
  core::StatusOr<size_t> revokeLeases(const std::vector<std::string>& ids,
                                      const std::string& reason);

  // Ends every active lease matching all the non-empty fields of `match` (ticket, subject,
  // grant; at least one is required, else InvalidArgument), or with `dry_run` only finds them.
  // Returns the ids it ended (or would end), in issue order; one audit record names the match.
  core::StatusOr<std::vector<std::string>> revokeMatching(const store::LeaseFilter& match,
                                                          const std::string& reason, bool dry_run);

  // Settles everything due at `now`. The timer thread calls it; tests call it directly.
  // Calls do not overlap (listeners must not call it).
  void processDue(int64_t now_ms);

  int64_t activeCount() const;

 private:
  // Why a lease of this ticket, as its insert read it, must not be handed out ("" if it may).
  std::string endedReason(const std::optional<store::TicketState>& ticket) const;
  // Ends those of `ids` still active in one transaction and tells the listeners. With a store
  // that audits in its transactions, `more`'s records commit in that transaction too.
  core::StatusOr<std::vector<store::EndedLease>> revokeEnded(const std::vector<std::string>& ids,
                                                             const std::string& reason,
                                                             MoreRecords more = {});
  // Counts, metrics, listeners and (unless `audited`: the store committed them with the end)
  // the audit records of leases that ended.
  void ended(const std::vector<store::EndedLease>& leases, store::LeaseState state,
             const std::string& reason, bool audited);
  // The end's records for the store to commit, when it keeps the audit log; empty otherwise.
  store::EndAudit auditIn(store::LeaseState state, const std::string& reason,
                          MoreRecords more = {}) const;
  void timerLoop();
  // The store poll's window part: ends the leases of tickets whose window ended since the last
  // successful poll (less a margin for other replicas' clocks).
  void pollWindows(int64_t now);
  int64_t nowMs() const;
  void countKind(store::LeaseKind kind, int64_t delta);

  store::Store& store_;
  audit::AuditSink& audit_;
  const core::Clock& clock_;
  metrics::Registry& metrics_;

  // One settling at a time, taken before mu_: a processDue() returns with what was due
  // settled even when the timer thread, woken by the same clock move, popped it first.
  std::mutex due_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Expiry times only: expireDue() finds the leases by its index, so the heap needs no ids.
  std::priority_queue<int64_t, std::vector<int64_t>, std::greater<>> expiries_;
  std::priority_queue<std::pair<int64_t, std::string>,
                      std::vector<std::pair<int64_t, std::string>>, std::greater<>>
      windows_;
  // For the gauge only (this process's view): the quotas are counted by the store.
  int64_t active_ = 0;
  // Of active_, by store::LeaseKind (the gauge's kind label); under mu_.
  std::array<int64_t, 6> active_by_kind_{};
  std::vector<EndedListener> listeners_;
  std::vector<std::function<void()>> sweepers_;
  const int64_t poll_ms_;
  int64_t next_poll_ = 0;    // under mu_
  int64_t window_mark_ = 0;  // under due_mu_: windows that ended up to here are settled
  bool stop_ = false;
  std::atomic<bool> ready_{false};
  std::thread timer_;
};

}  // namespace jitb::leases
