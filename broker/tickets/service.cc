#include "broker/tickets/service.h"

#include <algorithm>
#include <boost/json.hpp>

namespace jitb::tickets {

namespace json = boost::json;

namespace {
constexpr size_t kMaxCached = 100'000;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

TicketService::TicketService(store::Store& store, leases::LeaseManager& leases,
                             audit::AuditSink& audit, const core::Clock& clock)
    : store_(store), leases_(leases), audit_(audit), clock_(clock) {}

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
  json::error_code ec;
  json::value v = json::parse((*row)->json, ec);
  auto t = ec ? core::StatusOr<Ticket>(core::internalError("stored ticket is not JSON"))
              : ticketFromJson(v);
  if (!t.ok()) return core::internalError("stored ticket " + id + " does not parse");
  std::lock_guard lk(cache_mu_);
  if (generation == generation_) {
    if (cache_.size() >= kMaxCached) cache_.clear();  // only costs reads
    cache_.emplace(id, *t);
  }
  return std::optional<Ticket>(std::move(*t));
}

core::StatusOr<ApplyOutcome> TicketService::apply(const Ticket& t, std::string_view source) {
  auto before = get(t.id);
  if (!before.ok()) return before.status();
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
  auto revoked = settle(t, *before);
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

core::StatusOr<size_t> TicketService::settle(const Ticket& t, const std::optional<Ticket>& before) {
  if (isTerminal(t.state)) return leases_.revokeTicket(t.id, "ticket_" + t.state);
  if (t.state != "approved") return leases_.revokeTicket(t.id, "approval_withdrawn");
  if (t.window_end <= clock_.now()) return leases_.revokeTicket(t.id, "window_ended");
  leases_.watchWindow(t.id, toMillis(t.window_end));
  if (!before) return size_t{0};
  // Subjects or grants taken away end the leases that relied on them.
  bool narrowed = false;
  for (const auto& s : before->subjects) narrowed |= !contains(t.subjects, s);
  for (const auto& a : before->access) narrowed |= !contains(t.access, a);
  if (!narrowed) return size_t{0};
  size_t n = 0;
  store::LeaseFilter f;
  f.ticket = t.id;
  f.state = store::LeaseState::kActive;
  f.limit = 1000;
  for (;;) {
    auto page = store_.listLeases(f);
    if (!page.ok()) return page.status();
    for (const auto& l : *page) {
      if (contains(t.subjects, l.subject) && contains(t.access, l.grant)) continue;
      auto r = leases_.revokeLease(l.id, "ticket_changed");
      if (!r.ok()) return r.status();
      n += *r;
    }
    if (page->size() < static_cast<size_t>(f.limit)) break;
    f.after_id = page->back().id;
  }
  return n;
}

}  // namespace jitb::tickets
