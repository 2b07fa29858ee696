#include "broker/issuing/lookup_gate.h"

namespace jitb::issuing {

LookupGate::LookupGate(size_t threads, size_t per_caller)
    : per_caller_(per_caller), idle_(threads) {  // idle from the start, even before they run
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

void LookupGate::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    work_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
}

bool LookupGate::trySubmit(std::function<void()> work) {
  {
    std::lock_guard lk(mu_);
    // Each queued item is promised to one idle thread: none waits behind another.
    if (stop_ || work_.size() >= idle_) return false;
    work_.push_back(std::move(work));
  }
  cv_.notify_one();
  return true;
}

void LookupGate::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stop_ || !work_.empty(); });
    if (stop_) return;
    --idle_;
    auto fn = std::move(work_.front());
    work_.pop_front();
    lk.unlock();
    fn();
    fn = nullptr;  // what the work captured goes before the thread counts as idle
    lk.lock();
    ++idle_;
  }
}

std::optional<LookupGate::Permit> LookupGate::admit(const std::string& caller) {
  std::lock_guard lk(mu_);
  size_t& n = under_way_[caller];
  if (n >= per_caller_) return std::nullopt;
  ++n;
  return Permit(this, caller);
}

void LookupGate::release(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = under_way_.find(key);
  if (it != under_way_.end() && --it->second == 0) under_way_.erase(it);
}

LookupGate::Permit::~Permit() {
  if (gate_) gate_->release(key_);
}

}  // namespace jitb::issuing
