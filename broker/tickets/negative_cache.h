// Ticket ids a source said it does not have, remembered for a short while so that asking for
// the same unknown id again does not reach the source again (each read spends the ITSM API's
// shared request budget). Bounded: past `capacity` the oldest entries go first. Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "broker/core/clock.h"

namespace jitb::tickets {

class NegativeCache {
 public:
  NegativeCache(const core::Clock& clock, std::chrono::milliseconds ttl, size_t capacity);

  // True when `id` was found missing less than `ttl` ago.
  bool contains(const std::string& id);
  void add(const std::string& id);
  // The id exists after all (a trigger or a poll found it): forget the miss.
  void erase(const std::string& id);
  size_t size();

 private:
  const core::Clock& clock_;
  std::chrono::milliseconds ttl_;
  size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, core::TimePoint> missed_;
  // Insertion order, for eviction; an entry whose time differs from missed_ is stale.
  std::deque<std::pair<std::string, core::TimePoint>> order_;
};

}  // namespace jitb::tickets
