// Admission of client connections: a cap on all open connections and a smaller one per source
// address. With the global cap alone, one address holding idle sockets fills every slot and
// locks every other client out. Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

#include "broker/core/keyed_slots.h"

namespace jitb::http {

// The key a connection counts against: an IPv4 address (IPv4-mapped IPv6 included) as itself,
// an IPv6 address by its /64, since one host is commonly given a whole /64. Text that is not
// an IP address is its own key.
std::string addressKey(std::string_view ip);

class ConnectionLimiter : private core::SlotOwner {
 public:
  enum class Admit { kOk, kTotalCap, kAddressCap };

  // Holds one admitted connection's place; gives it back when destroyed. Move-only.
  using Slot = core::Slot;

  ConnectionLimiter(size_t max_total, size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  // On kOk, `slot` holds the place until it is destroyed or reset; otherwise it is left empty.
  // The limiter must outlive every slot it hands out.
  Admit admit(const std::string& key, Slot& slot);
  size_t open() const;
  // Distinct keys with an open connection (for tests: emptied keys must not accumulate).
  size_t addresses() const;

 private:
  void release(const std::string& key) override;

  const size_t max_total_, max_per_address_;
  mutable std::mutex mu_;
  size_t open_ = 0;
  core::KeyCounts per_address_;
};

}  // namespace jitb::http
