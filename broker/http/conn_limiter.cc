#include "broker/http/conn_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace jitb::http {

std::string addressKey(std::string_view ip) {
  std::string text(ip);
  unsigned char b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) return text;
  if (inet_pton(AF_INET6, text.c_str(), b) != 1) return text;
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN];
  if (std::memcmp(b, kMapped, sizeof kMapped) == 0) {
    inet_ntop(AF_INET, b + 12, out, sizeof out);
    return out;
  }
  std::fill(b + 8, b + 16, 0);
  inet_ntop(AF_INET6, b, out, sizeof out);
  return std::string(out) + "/64";
}

ConnectionLimiter::Admit ConnectionLimiter::admit(const std::string& key, Slot& slot) {
  slot.reset();  // before locking: giving a place back takes the lock too
  std::lock_guard lk(mu_);
  if (open_ >= max_total_) return Admit::kTotalCap;
  if (per_address_.of(key) >= max_per_address_) return Admit::kAddressCap;
  per_address_.add(key);
  ++open_;
  // Move-assigned into an empty slot (reset above): nothing is given back under the lock.
  slot = Slot(this, key);
  return Admit::kOk;
}

void ConnectionLimiter::release(const std::string& key) {
  std::lock_guard lk(mu_);
  --open_;
  per_address_.remove(key);
}

size_t ConnectionLimiter::open() const {
  std::lock_guard lk(mu_);
  return open_;
}

size_t ConnectionLimiter::addresses() const {
  std::lock_guard lk(mu_);
  return per_address_.keys();
}

}  // namespace jitb::http
