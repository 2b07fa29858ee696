// Ticket ids a source said it does not have, remembered for a short while so that asking for
// the same unknown id again does not reach the source again (each read spends the ITSM API's
// shared request budget). Bounded: past `capacity` the longest-known misses go first.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
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
  struct Miss {
    core::TimePoint at;  // of the last miss: the TTL runs from here
    uint64_t seq;        // of the first: its place in order_
  };
  std::unordered_map<std::string, Miss> missed_;
  // First-miss order, for eviction. An entry whose seq is not its id's in missed_ (the id was
  // erased or expired since) is stale and skipped.
  std::deque<std::pair<std::string, uint64_t>> order_;
  uint64_t seq_ = 0;
};

}  // namespace jitb::tickets
