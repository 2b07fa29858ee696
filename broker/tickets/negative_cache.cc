#include "broker/tickets/negative_cache.h"

namespace jitb::tickets {

NegativeCache::NegativeCache(const core::Clock& clock, std::chrono::milliseconds ttl,
                             size_t capacity)
    : clock_(clock), ttl_(ttl), capacity_(capacity) {}

bool NegativeCache::contains(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = missed_.find(id);
  if (it == missed_.end()) return false;
  if (clock_.now() - it->second.at < ttl_) return true;
  missed_.erase(it);  // its entry in order_ is now stale
  return false;
}

void NegativeCache::add(const std::string& id) {
  if (capacity_ == 0 || ttl_.count() <= 0) return;
  std::lock_guard lk(mu_);
  const core::TimePoint now = clock_.now();
  if (auto it = missed_.find(id); it != missed_.end()) {
    it->second.at = now;  // asked again: keeps its place, its TTL starts over
    return;
  }
  missed_.emplace(id, Miss{now, ++seq_});
  order_.emplace_back(id, seq_);
  // order_ also holds stale entries; it is trimmed with the map so that neither grows past
  // twice the capacity.
  while (missed_.size() > capacity_ || order_.size() > 2 * capacity_) {
    auto [old, seq] = std::move(order_.front());
    order_.pop_front();
    auto it = missed_.find(old);
    if (it != missed_.end() && it->second.seq == seq) missed_.erase(it);
  }
}

void NegativeCache::erase(const std::string& id) {
  std::lock_guard lk(mu_);
  missed_.erase(id);
}

size_t NegativeCache::size() {
  std::lock_guard lk(mu_);
  return missed_.size();
}

}  // namespace jitb::tickets
