#include "broker/tickets/refresher.h"

#include <unordered_set>

#include "broker/core/log.h"
#include "broker/tickets/itsm_http.h"
#include "policies/engine/ticket_state.h"

namespace jitb::tickets {

namespace {
constexpr size_t kMaxRemembered = 100'000;
}

Refresher::Refresher(TicketService& service, const core::Clock& clock,
                     std::chrono::milliseconds max_age, std::chrono::milliseconds negative_ttl,
                     size_t negative_capacity)
    : service_(service), clock_(clock), max_age_(max_age),
      negative_(clock, negative_ttl, negative_capacity) {}

void Refresher::addSource(std::shared_ptr<TicketSource> source) {
  sources_.push_back(std::move(source));
}

TicketSource* Refresher::sourceFor(std::string_view id) const {
  for (const auto& s : sources_)
    if (s->owns(id)) return s.get();
  return nullptr;
}

bool Refresher::fresh(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = checked_.find(id);
  return it != checked_.end() && clock_.now() - it->second < max_age_;
}

core::StatusOr<std::optional<Ticket>> Refresher::lookup(const std::string& id) {
  TicketSource* source = sourceFor(id);
  if (!source || fresh(id) || negative_.contains(id)) return service_.get(id);
  // A closed, canceled or rejected ticket stays so: no need to ask (and a source that is down
  // then still gets the caller the precise denial).
  auto stored = service_.get(id);
  if (!stored.ok() || (stored->has_value() && isTerminalState((*stored)->state))) return stored;
  core::Status st;
  {
    LookupLane lane;
    st = refreshShared(*source, id);
  }
  if (st.code() == core::Code::kPermissionDenied) return st;
  if (!st.ok())
    return core::Status(core::Code::kUnavailable,
                        "ticket " + id + " must be read from " + std::string(source->name()) +
                            " first, which cannot answer now: " + st.message(),
                        st.detail());
  return service_.get(id);
}

core::Status Refresher::refreshShared(TicketSource& source, const std::string& id) {
  std::promise<core::Status> mine;
  std::shared_future<core::Status> result;
  bool leader = false;
  {
    std::lock_guard lk(mu_);
    auto it = inflight_.find(id);
    if (it != inflight_.end()) {
      result = it->second;
    } else {
      result = mine.get_future().share();
      inflight_.emplace(id, result);
      leader = true;
    }
  }
  if (!leader) return result.get();
  auto r = refresh(source, {id});
  core::Status st = r.ok() ? core::okStatus() : r.status();
  if (r.ok() && !r->unreadable.empty())
    st = core::Status(core::Code::kPermissionDenied, "ticket " + id + " in " + std::string(source.name()) +
                                                         " cannot be used: " + r->unreadable[0].second);
  {
    std::lock_guard lk(mu_);
    inflight_.erase(id);
  }
  // The caller gets the gist (503 naming the source); the operator gets the cause: the URL and
  // the socket or HTTP error. Logged once per lookup, not once per waiting caller.
  if (!st.ok() && st.code() != core::Code::kPermissionDenied)
    core::logEvent("error", source.name(), "ticket.lookup_failed",
                   {{"ticket", id}, {"error", st.message()}, {"detail", st.detail()}});
  mine.set_value(st);
  return st;
}

core::StatusOr<RefreshOutcome> Refresher::refresh(TicketSource& source,
                                                  const std::vector<std::string>& ids) {
  auto fetched = source.fetch(ids);
  if (!fetched.ok()) return fetched.status();
  RefreshOutcome out;
  out.checked = fetched->found.size() + fetched->missing.size() + fetched->unreadable.size();
  std::vector<Ticket> apply = std::move(fetched->found);
  std::unordered_set<std::string> unknown;  // missing at the source and never stored here
  for (const auto& id : fetched->missing) {
    auto stored = service_.get(id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) unknown.insert(id);
    if (!stored->has_value() || isTerminalState((*stored)->state)) continue;
    Ticket gone = **stored;
    gone.state = "canceled";
    // Newer than what is stored, so the conditional write takes it.
    gone.updated_at = std::max(clock_.now(), gone.updated_at + std::chrono::seconds(1));
    apply.push_back(std::move(gone));
  }
  const core::TimePoint now = clock_.now();
  for (const auto& t : apply) {
    auto a = service_.apply(t, source.name());
    // A record the ticket rules refuse (an updated_at far in the future) authorises nothing.
    if (a.status().code() == core::Code::kInvalidArgument) {
      fetched->unreadable.emplace_back(t.id, a.status().message());
      continue;
    }
    if (!a.ok()) return a.status();
    out.applied += a->applied;
    out.revoked += a->revoked;
  }
  for (const auto& [id, why] : fetched->unreadable) {
    auto n = service_.revokeUnreadable(id, why, source.name());
    if (!n.ok()) return n.status();
    out.revoked += *n;
  }
  out.unreadable = std::move(fetched->unreadable);
  std::lock_guard lk(mu_);
  if (checked_.size() > kMaxRemembered) checked_.clear();  // only costs extra reads
  // Unknown ids go to the bounded negative cache, not here: made-up ids must not crowd out
  // (and, past kMaxRemembered, clear) what is known of real tickets.
  for (const auto& id : ids) {
    if (unknown.count(id)) {
      negative_.add(id);
    } else {
      checked_[id] = now;
      negative_.erase(id);
    }
  }
  // An unreadable record is read again by the next lookup, not served from the store.
  for (const auto& u : out.unreadable) checked_.erase(u.first);
  return out;
}

}  // namespace jitb::tickets
