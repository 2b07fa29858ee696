// Places counted per key (open connections per address, lookups under way per caller), and
// the move-only holder that gives one place back when it is destroyed.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>

namespace jitb::core {

// How many places each key holds; a key whose count falls to zero is forgotten, so keys seen
// once do not accumulate. Not thread-safe: the owner locks around it.
class KeyCounts {
 public:
  size_t of(const std::string& key) const {
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
  }
  void add(const std::string& key) { ++counts_[key]; }
  void remove(const std::string& key) {
    auto it = counts_.find(key);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }
  size_t keys() const { return counts_.size(); }

 private:
  std::unordered_map<std::string, size_t> counts_;
};

// What hands out slots: release() is called once per slot, from the slot's destructor or
// reset(), on whatever thread that runs.
class SlotOwner {
 public:
  virtual ~SlotOwner() = default;
  virtual void release(const std::string& key) = 0;
};

// One place held under `key`; given back when destroyed or reset. Move-only. The owner must
// outlive every slot it hands out.
class Slot {
 public:
  Slot() = default;
  Slot(SlotOwner* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
  Slot(Slot&& o) noexcept : owner_(o.owner_), key_(std::move(o.key_)) { o.owner_ = nullptr; }
  Slot& operator=(Slot&& o) noexcept {
    if (this != &o) {
      reset();
      owner_ = o.owner_;
      key_ = std::move(o.key_);
      o.owner_ = nullptr;
    }
    return *this;
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() { reset(); }

  void reset() {
    if (owner_) owner_->release(key_);
    owner_ = nullptr;
  }
  bool held() const { return owner_ != nullptr; }

 private:
  SlotOwner* owner_ = nullptr;
  std::string key_;
};

}  // namespace jitb::core
