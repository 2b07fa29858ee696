#include "broker/leases/lease_manager.h"

#include <boost/json.hpp>

#include "broker/core/offload.h"
#include "policies/engine/ticket_state.h"

namespace jitb::leases {

namespace json = boost::json;
using store::LeaseState;

namespace {
constexpr int64_t kRetryMs = 1000;
// How far back each window poll looks again before the last one: another replica whose clock
// is behind may write a window end that this one's poll already passed.
constexpr int64_t kWindowLookbackMs = 5 * 60 * 1000;
}  // namespace

LeaseManager::LeaseManager(store::Store& store, audit::AuditSink& audit, const core::Clock& clock,
                           Quotas quotas, metrics::Registry& metrics,
                           std::chrono::milliseconds poll_interval)
    : store_(store),
      audit_(audit),
      clock_(clock),
      metrics_(metrics),
      poll_ms_(std::max<int64_t>(1, poll_interval.count())) {
  store_.setLeaseQuotas(quotas);
  metrics_.declareGauge("jitbroker_leases_active", "Active leases, by kind.");
  metrics_.declareCounter("jitbroker_leases_ended_total", "Leases ended, by state and reason.");
  metrics_.declareCounter("jitbroker_leases_quota_refusals_total",
                          "Issuances refused because a lease quota was reached.");
  metrics_.declareHistogram("jitbroker_lease_expiry_lag_seconds",
                            "How long after its expiry a lease was marked expired.",
                            {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5});
  metrics_.declareHistogram("jitbroker_revocation_duration_seconds",
                            "From a ticket's revocation request to all its leases settled.",
                            {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  metrics_.addCollector([this](metrics::Registry& r) {
    std::lock_guard lk(mu_);
    // Tokens and certificates always (dashboards expect them), the other kinds once seen.
    for (size_t k = 0; k < active_by_kind_.size(); ++k)
      if (k <= 1 || active_by_kind_[k] != 0)
        r.set("jitbroker_leases_active", {{"kind", store::toString(static_cast<store::LeaseKind>(k))}},
              static_cast<double>(active_by_kind_[k]));
  });
}

LeaseManager::~LeaseManager() { stop(); }

void LeaseManager::countKind(store::LeaseKind kind, int64_t delta) {
  const auto k = static_cast<size_t>(kind);
  if (k < active_by_kind_.size()) active_by_kind_[k] += delta;
}

int64_t LeaseManager::nowMs() const { return core::unixMillis(clock_.now()); }

int64_t LeaseManager::activeCount() const {
  std::lock_guard lk(mu_);
  return active_;
}

void LeaseManager::addListener(EndedListener l) {
  std::lock_guard lk(mu_);
  listeners_.push_back(std::move(l));
}

void LeaseManager::addSweeper(std::function<void()> sweep) {
  std::lock_guard lk(mu_);
  sweepers_.push_back(std::move(sweep));
}

core::Status LeaseManager::start() {
  core::Status st = store_.forEachActive([this](const store::LeaseRow& l) {
    ++active_;
    countKind(l.kind, 1);
    expiries_.push(l.expires_at);
  });
  if (!st.ok()) return st;
  auto tickets = store_.activeTickets();
  if (!tickets.ok()) return tickets.status();
  int64_t now = nowMs();
  {
    // Every ticket with active leases is settled or watched just below: the polls start here.
    std::lock_guard settling(due_mu_);
    window_mark_ = now;
  }
  for (const auto& t : *tickets) {
    std::string reason;
    if (t.state == "unknown") reason = "ticket_unknown";
    else if (!isUsableState(t.state)) reason = "ticket_" + t.state;
    else if (t.window_end <= now) reason = "window_ended";
    if (reason.empty()) {
      watchWindow(t.id, t.window_end);
    } else if (auto r = revokeTicket(t.id, reason); !r.ok()) {
      return r.status();
    }
  }
  processDue(now);
  ready_ = true;
  timer_ = std::thread([this] { timerLoop(); });
  return core::okStatus();
}

void LeaseManager::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

std::string LeaseManager::endedReason(const std::optional<store::TicketState>& t) const {
  if (!t) return "";
  if (isTerminalState(t->state)) return "ticket_" + t->state;
  if (!isUsableState(t->state)) return "approval_withdrawn";
  if (t->window_end <= nowMs()) return "window_ended";
  return "";
}

void LeaseManager::recordAsync(store::LeaseRow lease, std::function<void(core::Status)> done,
                               core::Offload offload, InsertCheck check) {
  recordAuditedAsync(std::move(lease), {}, std::move(done), std::move(offload), std::move(check));
}

void LeaseManager::recordAuditedAsync(store::LeaseRow lease, std::vector<std::string> audit,
                                      std::function<void(core::Status)> done,
                                      core::Offload offload, InsertCheck check) {
  // The issuer read the ticket before this insert; a close applied in between ran its
  // revocation before the lease existed. The insert's transaction reads the ticket too, and
  // store writes are serialised: one side always catches the other. The quotas are the
  // store's: its insert counts the lease in the same transaction, for every replica at once.
  auto recorded = [this, id = lease.id, kind = lease.kind, expires_at = lease.expires_at,
                   done = std::move(done), offload = std::move(offload),
                   check = std::move(check)](core::Status st,
                                             std::optional<store::TicketState> t) mutable {
    if (!st.ok()) {
      if (std::string_view quota = store::quotaRefused(st); !quota.empty())
        metrics_.add("jitbroker_leases_quota_refusals_total", {{"quota", std::string(quota)}});
      return done(st);
    }
    {
      std::lock_guard lk(mu_);
      ++active_;
      countKind(kind, 1);
      bool earliest = expiries_.empty() || expires_at < expiries_.top();
      expiries_.push(expires_at);
      if (earliest) cv_.notify_all();
    }
    std::string reason = endedReason(t);
    const bool rejudge = reason.empty() && t && check.rejudge && !check.unchanged(t->json);
    if (reason.empty() && !rejudge) return done(core::okStatus());
    // Judging and revoking read and write the store and the audit log: not on the writer thread.
    offload([this, id = std::move(id), reason = std::move(reason), done = std::move(done),
             json = rejudge ? std::move(t->json) : std::string(), check = std::move(check)] {
      std::string why = reason;
      if (why.empty() && check.rejudge(json).empty()) return done(core::okStatus());
      if (why.empty()) why = "ticket_changed";
      auto r = revokeLease(id, why);
      done(!r.ok() ? r.status()
                   : core::unavailable(
                         "the ticket changed while the credential was issued; try again"));
    });
  };
  if (audit.empty()) return store_.insertLeaseAsync(std::move(lease), std::move(recorded));
  store_.insertLeaseAudited(std::move(lease), std::move(audit), std::move(recorded));
}

core::Status LeaseManager::record(const store::LeaseRow& lease, InsertCheck check) {
  return core::awaitHere<core::Status>([&](auto done, core::Offload offload) {
    recordAsync(lease, std::move(done), std::move(offload), std::move(check));
  });
}

void LeaseManager::watchWindow(const std::string& ticket, int64_t window_end_ms) {
  std::lock_guard lk(mu_);
  windows_.emplace(window_end_ms, ticket);
  cv_.notify_all();
}

core::StatusOr<size_t> LeaseManager::revokeTicket(const std::string& ticket,
                                                  const std::string& reason) {
  auto started = std::chrono::steady_clock::now();
  store::EndAudit audit = auditIn(LeaseState::kRevoked, reason);
  auto ended_leases = audit ? store_.revokeTicketAudited(ticket, reason, nowMs(), audit)
                            : store_.revokeTicket(ticket, reason, nowMs());
  if (!ended_leases.ok()) return ended_leases.status();
  ended(*ended_leases, LeaseState::kRevoked, reason, static_cast<bool>(audit));
  if (!ended_leases->empty())
    metrics_.observe("jitbroker_revocation_duration_seconds", {},
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return ended_leases->size();
}

size_t LeaseManager::ticketLeasesEnded(const std::vector<store::EndedLease>& ended_leases,
                                       const std::string& reason) {
  // Such a store committed them with the ticket's write (endedAudit, TicketEffect::audit_ended).
  ended(ended_leases, LeaseState::kRevoked, reason, store_.auditsInTransaction());
  return ended_leases.size();
}

store::EndAudit LeaseManager::endedAudit(const std::string& reason) {
  return auditIn(LeaseState::kRevoked, reason);
}

store::EndAudit LeaseManager::auditIn(LeaseState state, const std::string& reason,
                                      MoreRecords more) const {
  if (!store_.auditsInTransaction()) return {};
  return endAudit(clock_, state, reason, std::move(more));
}

core::StatusOr<size_t> LeaseManager::revokeLeases(const std::vector<std::string>& ids,
                                                  const std::string& reason) {
  auto changed = revokeEnded(ids, reason);
  if (!changed.ok()) return changed.status();
  return changed->size();
}

core::StatusOr<std::vector<store::EndedLease>> LeaseManager::revokeEnded(
    const std::vector<std::string>& ids, const std::string& reason, MoreRecords more) {
  if (ids.empty()) return std::vector<store::EndedLease>();
  store::EndAudit audit = auditIn(LeaseState::kRevoked, reason, std::move(more));
  auto changed = audit ? store_.endLeasesAudited(ids, LeaseState::kRevoked, reason, nowMs(), audit)
                       : store_.endLeases(ids, LeaseState::kRevoked, reason, nowMs());
  if (!changed.ok()) return changed.status();
  ended(*changed, LeaseState::kRevoked, reason, static_cast<bool>(audit));
  return changed;
}

core::StatusOr<std::vector<std::string>> LeaseManager::revokeMatching(
    const store::LeaseFilter& match, const std::string& reason, bool dry_run) {
  if (match.ticket.empty() && match.subject.empty() && match.grant.empty())
    return core::invalidArgument("name a ticket, a subject or a grant");
  store::LeaseFilter f;
  f.ticket = match.ticket;
  f.subject = match.subject;
  f.grant = match.grant;
  f.state = LeaseState::kActive;
  f.limit = 1000;
  std::vector<std::string> found;
  if (core::Status st = store::forEachLease(store_, f, [&](const auto& l) { found.push_back(l.id); });
      !st.ok())
    return st;
  if (dry_run) return found;
  auto summary = [&match, reason](size_t count) {
    json::object fields{{"reason", reason}, {"count", count}};
    for (auto [key, value] :
         {std::pair{"ticket", &match.ticket}, {"subject", &match.subject}, {"grant", &match.grant}})
      if (!value->empty()) fields[key] = *value;
    return audit::Record{"leases.revoked_matching", std::move(fields)};
  };
  // A store that audits in its transactions commits the summary with the last chunk's end.
  const bool in_txn = store_.auditsInTransaction() && !found.empty();
  // A lease may end on its own between the listing and the update: report what changed.
  std::vector<std::string> changed_ids;
  for (size_t i = 0; i < found.size(); i += kAuditChunk) {
    const size_t end = std::min(found.size(), i + kAuditChunk);
    std::vector<std::string> chunk(found.begin() + static_cast<long>(i),
                                   found.begin() + static_cast<long>(end));
    MoreRecords more;
    if (in_txn && end == found.size())
      more = [&summary, before = changed_ids.size()](const std::vector<store::EndedLease>& e) {
        return std::vector<audit::Record>{summary(before + e.size())};
      };
    auto changed = revokeEnded(chunk, reason, std::move(more));
    if (!changed.ok()) return changed.status();
    for (const auto& l : *changed) changed_ids.push_back(l.id);
  }
  if (!in_txn) {
    audit::Record r = summary(changed_ids.size());
    (void)audit_.append(r.event, std::move(r.fields));
  }
  return changed_ids;
}

core::StatusOr<bool> LeaseManager::revokeLease(const std::string& id, const std::string& reason) {
  if (store_.auditsInTransaction()) {  // endLease has no audited form: endLeases of one
    auto changed = revokeEnded({id}, reason);
    if (!changed.ok()) return changed.status();
    return !changed->empty();
  }
  auto one = store_.endLease(id, LeaseState::kRevoked, reason, nowMs());
  if (!one.ok()) return one.status();
  if (!one->has_value()) return false;
  ended({**one}, LeaseState::kRevoked, reason, false);
  return true;
}

void LeaseManager::endedElsewhere(const std::vector<store::EndedLease>& leases,
                                  LeaseState state) {
  if (leases.empty()) return;
  std::vector<EndedListener> listeners;
  {
    std::lock_guard lk(mu_);
    listeners = listeners_;
  }
  for (auto& l : listeners) l(leases, state);
}

void LeaseManager::ended(const std::vector<store::EndedLease>& leases, LeaseState state,
                         const std::string& reason, bool audited) {
  if (leases.empty()) return;
  std::vector<EndedListener> listeners;
  {
    std::lock_guard lk(mu_);
    active_ -= static_cast<int64_t>(leases.size());
    for (const auto& l : leases) countKind(l.kind, -1);
    listeners = listeners_;
  }
  metrics_.add("jitbroker_leases_ended_total",
               {{"state", store::toString(state)}, {"reason", reason}},
               static_cast<double>(leases.size()));
  // The store already holds the new state; a failed audit write must not undo it.
  if (!audited)
    for (audit::Record& r : endRecords(leases, state, reason))
      (void)audit_.append(r.event, std::move(r.fields));
  for (auto& l : listeners) l(leases, state);
}

void LeaseManager::processDue(int64_t now) {
  std::lock_guard settling(due_mu_);
  bool expire = false, poll = false;
  std::vector<std::pair<int64_t, std::string>> windows;
  std::vector<std::function<void()>> sweepers;
  {
    std::lock_guard lk(mu_);
    if (now >= next_poll_) {
      // The store knows leases the heaps do not (another replica's): ask it as well.
      poll = expire = true;
      next_poll_ = now + poll_ms_;
      sweepers = sweepers_;
    }
    while (!expiries_.empty() && expiries_.top() <= now) {
      expiries_.pop();
      expire = true;
    }
    while (!windows_.empty() && windows_.top().first <= now) {
      windows.push_back(windows_.top());
      windows_.pop();
    }
  }
  if (expire) {
    store::EndAudit audit = auditIn(LeaseState::kExpired, "ttl");
    auto due = audit ? store_.expireDueAudited(now, audit) : store_.expireDue(now);
    if (due.ok()) {
      for (const auto& l : *due)
        metrics_.observe("jitbroker_lease_expiry_lag_seconds", {},
                         static_cast<double>(now - l.expires_at) / 1000.0);
      ended(*due, LeaseState::kExpired, "ttl", static_cast<bool>(audit));
    } else {
      std::lock_guard lk(mu_);
      expiries_.push(now + kRetryMs);  // store unavailable: try again shortly
    }
  }
  for (const auto& [end, ticket] : windows) {
    // The ticket may have been extended since this timer was armed: ask the store.
    auto row = store_.getTicket(ticket);
    if (row.ok() && row->has_value() && (*row)->window_end > now && isUsableState((*row)->state))
      continue;
    if (!revokeTicket(ticket, "window_ended").ok()) {
      std::lock_guard lk(mu_);
      windows_.emplace(now + kRetryMs, ticket);
    }
  }
  if (!poll) return;
  pollWindows(now);
  for (auto& sweep : sweepers) sweep();
}

void LeaseManager::pollWindows(int64_t now) {
  store::EndAudit audit = auditIn(LeaseState::kRevoked, "window_ended");
  const int64_t after = window_mark_ - kWindowLookbackMs;
  auto due = audit ? store_.endWindowsDueAudited(after, now, audit)
                   : store_.endWindowsDue(after, now);
  if (!due.ok()) return;  // the mark stays: the next poll covers this span again
  window_mark_ = now;
  ended(*due, LeaseState::kRevoked, "window_ended", static_cast<bool>(audit));
}

void LeaseManager::timerLoop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    int64_t now = nowMs();
    int64_t next = now + 250;  // also bounds how late a clock jump is noticed
    if (!expiries_.empty()) next = std::min(next, expiries_.top());
    if (!windows_.empty()) next = std::min(next, windows_.top().first);
    next = std::min(next, next_poll_);
    if (next > now) {
      clock_.waitUntil(lk, cv_, core::TimePoint(std::chrono::milliseconds(next)));
      continue;
    }
    lk.unlock();
    processDue(now);
    lk.lock();
  }
}

}  // namespace jitb::leases
