#include "broker/core/ticker.h"

namespace jitb::core {

Ticker::Ticker(std::function<void()> tick, Start start) : Ticker(nullptr, std::move(tick), start) {}

Ticker::Ticker(const Clock& clock, std::function<void()> tick, Start start)
    : Ticker(&clock, std::move(tick), start) {}

Ticker::Ticker(const Clock* clock, std::function<void()> tick, Start start)
    : clock_(clock), tick_(std::move(tick)), start_(start) {}

Ticker::~Ticker() { stop(); }

void Ticker::start(std::chrono::milliseconds period) {
  std::lock_guard j(join_mu_);
  {
    std::lock_guard lk(mu_);
    if (started_ || stop_) return;
    started_ = true;
  }
  thread_ = std::thread([this, period] { loop(period); });
}

void Ticker::poke() {
  {
    std::lock_guard lk(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void Ticker::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  std::lock_guard j(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void Ticker::waitPeriod(std::unique_lock<std::mutex>& lk, std::chrono::milliseconds period) {
  auto woken = [this] { return stop_ || poked_; };
  if (clock_)
    waitUntil(*clock_, lk, cv_, clock_->now() + period, woken);
  else
    cv_.wait_for(lk, period, woken);
}

void Ticker::loop(std::chrono::milliseconds period) {
  std::unique_lock lk(mu_);
  bool wait = start_ == Start::kWaitFirst;
  while (!stop_) {
    if (wait) waitPeriod(lk, period);
    wait = true;
    if (stop_) break;
    // Cleared before the run, so a poke that arrives during it asks for one more.
    poked_ = false;
    lk.unlock();
    tick_();
    lk.lock();
  }
}

}  // namespace jitb::core
