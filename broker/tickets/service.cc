#include "broker/tickets/service.h"

#include <algorithm>
#include <boost/json.hpp>

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
  invalidate(t.id);
  auto w = store_.putTicket(row);
  invalidate(t.id);
  if (!w.ok()) return w.status();

  ApplyOutcome out;
  json::object f{{"ticket", t.id}, {"state", t.state}, {"source", source},
                 {"updated_at", row.updated_at}};
  if (*w != store::TicketWrite::kApplied) {
    out.reason = *w == store::TicketWrite::kIgnoredTerminal ? "terminal" : "not_newer";
    f["reason"] = out.reason;
    if (core::Status st = audit_.append("ticket.ignored", std::move(f)); !st.ok()) return st;
    return out;
  }
  out.applied = true;
  if (core::Status st = audit_.append("ticket.received", std::move(f)); !st.ok()) return st;
  auto revoked = settle(t);
  if (!revoked.ok()) return revoked.status();
  out.revoked = *revoked;
  return out;
}

core::StatusOr<size_t> TicketService::revokeUnreadable(const std::string& id, const std::string& why,
                                                      std::string_view source) {
  if (core::Status st = audit_.append("ticket.unreadable", {{"ticket", id}, {"source", source}, {"error", why}});
      !st.ok())
    return st;
  return leases_.revokeTicket(id, "ticket_unreadable");
}

core::StatusOr<size_t> TicketService::settle(const Ticket& t) {
  if (isTerminalState(t.state)) return leases_.revokeTicket(t.id, "ticket_" + t.state);
  if (!isUsableState(t.state)) return leases_.revokeTicket(t.id, "approval_withdrawn");
  if (t.window_end <= clock_.now()) return leases_.revokeTicket(t.id, "window_ended");
  leases_.watchWindow(t.id, toMillis(t.window_end));
  // Still approved, but approvers, kind, window start, subjects or grants may have changed.
  auto reviewed = review_.reviewTicket(t, "ticket_changed");
  if (reviewed.ok()) return reviewed;
  // The ticket is written and a redelivery would be ignored as not newer: fail closed.
  auto all = leases_.revokeTicket(t.id, "review_failed");
  return all.ok() ? all : reviewed;
}

}  // namespace jitb::tickets
