#include "broker/issuing/lookup_gate.h"

namespace jitb::issuing {

namespace {
constexpr size_t kTrimBucketsAt = 10'000;
}

LookupGate::LookupGate(size_t threads, PerCallerLimits per_caller, const core::Clock& clock)
    : limits_(per_caller),
      clock_(clock),
      idle_(threads),  // idle from the start
      rate_{per_caller.per_second, per_caller.burst} {
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

std::optional<LookupGate::Permit> LookupGate::admit(const std::string& caller, Refusal* why) {
  std::lock_guard lk(mu_);
  if (limits_.concurrent == 0 || under_way_.of(caller) >= limits_.concurrent) {
    if (why) *why = Refusal::kConcurrent;
    return std::nullopt;
  }
  if (!takeToken(caller)) {
    if (why) *why = Refusal::kRate;
    return std::nullopt;
  }
  under_way_.add(caller);
  return Permit(this, caller);
}

bool LookupGate::takeToken(const std::string& caller) {
  if (limits_.per_second <= 0) return true;
  const core::TimePoint now = clock_.now();
  if (buckets_.size() >= kTrimBucketsAt) {
    // A full bucket says nothing a new one would not: forgetting it costs nothing.
    for (auto b = buckets_.begin(); b != buckets_.end();)
      b = b->second.level(rate_, now) >= rate_.burst ? buckets_.erase(b) : std::next(b);
    // That many callers at once: their debts are forgiven rather than the map (and each trim)
    // growing. The gate's threads and the source's budget still bound what they can do.
    if (buckets_.size() > kTrimBucketsAt / 2) buckets_.clear();
  }
  return buckets_.try_emplace(caller, rate_, now).first->second.take(rate_, now);
}

size_t LookupGate::trackedCallers() {
  std::lock_guard lk(mu_);
  return buckets_.size();
}

void LookupGate::release(const std::string& key) {
  std::lock_guard lk(mu_);
  under_way_.remove(key);
}

}  // namespace jitb::issuing
