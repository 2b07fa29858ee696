#include "broker/store/leader.h"

namespace jitb::store {

Leader::Leader(Store& store, std::string replica, const core::Clock& clock,
               std::chrono::milliseconds lease)
    : store_(store),
      replica_(std::move(replica)),
      clock_(clock),
      lease_(lease),
      ticker_([this] { poll(); }) {}

Leader::~Leader() { stop(); }

bool Leader::poll() {
  auto claimed = store_.claimLeadership(replica_, core::unixMillis(clock_.now()), lease_.count());
  std::lock_guard lk(mu_);
  // A failed renewal is a lost lead: this replica cannot tell whether another took the row.
  last_ = claimed.ok() ? *claimed : Leadership{};
  return last_.leads;
}

bool Leader::leads() const {
  std::lock_guard lk(mu_);
  return last_.leads && core::unixMillis(clock_.now()) < last_.expires_at;
}

bool Leader::someoneLeads() const {
  std::lock_guard lk(mu_);
  return !last_.holder.empty() && core::unixMillis(clock_.now()) < last_.expires_at;
}

int64_t Leader::term() const {
  std::lock_guard lk(mu_);
  return last_.term;
}

void Leader::start(std::chrono::milliseconds interval) { ticker_.start(interval); }

void Leader::stop() { ticker_.stop(); }

}  // namespace jitb::store
