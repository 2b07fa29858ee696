#include "broker/tickets/service.h"

#include <algorithm>
#include <boost/json.hpp>

#include "broker/audit/record_text.h"
#include "broker/core/duration.h"
#include "policies/engine/ticket_state.h"

namespace jitb::tickets {

namespace json = boost::json;

namespace {
constexpr size_t kMaxCached = 100'000;
}  // namespace

TicketService::TicketService(store::Store& store, LeaseEvents& leases,
                             LeaseReview& review, audit::AuditSink& audit,
                             const core::Clock& clock)
    : store_(store), leases_(leases), review_(review), audit_(audit), clock_(clock) {}

void TicketService::invalidate(const std::string& id) {
  std::lock_guard lk(cache_mu_);
  ++generation_;
  cache_.erase(id);
}

core::StatusOr<std::optional<Ticket>> TicketService::get(const std::string& id) {
  uint64_t generation;
  {
    std::lock_guard lk(cache_mu_);
    if (auto it = cache_.find(id); it != cache_.end()) return std::optional<Ticket>(it->second);
    generation = generation_;
  }
  auto row = store_.getTicket(id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return std::optional<Ticket>();
  auto t = parseStored((*row)->json);
  if (!t.ok()) return t.status();
  std::lock_guard lk(cache_mu_);
  if (generation == generation_) {
    if (cache_.size() >= kMaxCached) cache_.clear();  // only costs reads
    cache_.emplace(id, *t);
  }
  return std::optional<Ticket>(std::move(*t));
}

core::StatusOr<ApplyOutcome> TicketService::apply(const Ticket& t, std::string_view source) {
  if (t.updated_at > clock_.now() + kMaxFutureSkew)
    return core::invalidArgument("ticket: 'updated_at' " + core::formatRfc3339(t.updated_at) +
                                 " is more than " + std::to_string(kMaxFutureSkew.count()) +
                                 " s in the future");
  store::TicketRow row{t.id, t.state, toMillis(t.updated_at), toMillis(t.window_end),
                       json::serialize(ticketToJson(t)), toMillis(clock_.now())};
  store::TicketEffect effect = effectOf(t);
  json::object f{{"ticket", t.id}, {"state", t.state}, {"source", source},
                 {"updated_at", row.updated_at}};
  // A store that keeps the audit log commits ticket.received with the write it describes.
  const bool in_txn = store_.auditsInTransaction();
  if (in_txn) effect.audit_applied = audit::recordBody({"ticket.received", f}, clock_.now());
  // ... and the records of the leases it ends, with their end.
  if (in_txn && effect.kind == store::TicketEffect::Kind::kRevokeAll)
    effect.audit_ended = leases_.endedAudit(effect.reason);
  invalidate(t.id);
  auto applied = store_.applyTicket(row, effect);
  invalidate(t.id);
  if (!applied.ok()) return applied.status();
  const store::TicketWrite* w = &applied->write;

  ApplyOutcome out;
  if (*w != store::TicketWrite::kApplied) {
    out.reason = *w == store::TicketWrite::kIgnoredTerminal ? "terminal" : "not_newer";
    f["reason"] = out.reason;
    if (core::Status st = audit_.append("ticket.ignored", std::move(f)); !st.ok()) return st;
    return out;
  }
  out.applied = true;
  // The store holds the event and its effect from here: a failed audit write must not skip
  // telling the lease side, nor the review.
  core::Status audited = in_txn ? core::okStatus() : audit_.append("ticket.received", std::move(f));
  if (effect.kind == store::TicketEffect::Kind::kRevokeAll) {
    out.revoked = leases_.ticketLeasesEnded(applied->ended, effect.reason);
  } else {
    leases_.watchWindow(t.id, row.window_end);
    auto reviewed = review(t, row.updated_at);
    if (!reviewed.ok()) return reviewed.status();
    out.revoked = *reviewed;
  }
  if (!audited.ok()) return audited;
  return out;
}

core::StatusOr<size_t> TicketService::revokeUnreadable(const std::string& id, const std::string& why,
                                                      std::string_view source) {
  if (core::Status st = audit_.append("ticket.unreadable", {{"ticket", id}, {"source", source}, {"error", why}});
      !st.ok())
    return st;
  return leases_.revokeTicket(id, "ticket_unreadable");
}

store::TicketEffect TicketService::effectOf(const Ticket& t) const {
  using Kind = store::TicketEffect::Kind;
  const int64_t now = toMillis(clock_.now());
  if (isTerminalState(t.state)) return {Kind::kRevokeAll, "ticket_" + t.state, now};
  if (!isUsableState(t.state)) return {Kind::kRevokeAll, "approval_withdrawn", now};
  if (t.window_end <= clock_.now()) return {Kind::kRevokeAll, "window_ended", now};
  // Still approved, but approvers, kind, window start, subjects or grants may have changed.
  return {Kind::kReview, "", now};
}

core::StatusOr<size_t> TicketService::review(const Ticket& t, int64_t updated_at) {
  auto reviewed = review_.reviewTicket(t, "ticket_changed");
  if (!reviewed.ok()) {
    // The ticket is written and a redelivery would be ignored as not newer: fail closed.
    auto all = leases_.revokeTicket(t.id, "review_failed");
    if (!all.ok()) return reviewed;  // the mark stays: the sweep tries again
    reviewed = all;
  }
  // Best effort: a mark left set only has the sweep judge the same leases again.
  (void)store_.finishReview(t.id, updated_at);
  return reviewed;
}

core::StatusOr<size_t> TicketService::sweepReviews() {
  constexpr int kBatch = 100;
  auto pending = store_.pendingReviews(toMillis(clock_.now() - kReviewGrace), kBatch);
  if (!pending.ok()) return pending.status();
  size_t ended = 0;
  for (const auto& row : *pending) {
    auto t = parseStored(row.json);
    auto r = t.ok() ? review(*t, row.updated_at)
                    : revokeUnreadable(row.id, t.status().message(), "review_sweep");
    if (!r.ok()) continue;  // still marked: the next sweep
    if (!t.ok()) (void)store_.finishReview(row.id, row.updated_at);
    ended += *r;
    (void)audit_.append("ticket.review_swept",
                        {{"ticket", row.id}, {"updated_at", row.updated_at}, {"ended", *r}});
  }
  return ended;
}

}  // namespace jitb::tickets
