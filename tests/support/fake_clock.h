// A manual clock for tests, kept out of the production headers: tests advance it instead of
// sleeping, and moving it wakes the threads waiting on it (Clock::waitUntil).
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "broker/core/clock.h"

namespace jitb::core {

// Thread-safe manual clock for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : t_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(TimePoint::duration(t_.load())); }
  // Both wake every thread waiting on this clock: those whose deadline passed see it.
  void advance(std::chrono::nanoseconds d) {
    t_ += std::chrono::duration_cast<TimePoint::duration>(d).count();
    wake();
  }
  void set(TimePoint t) {
    t_ = t.time_since_epoch().count();
    wake();
  }

  bool waitUntil(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                 TimePoint deadline) const override {
    auto w = std::make_shared<Waiter>(lk.mutex(), &cv, deadline);
    // Registered before the clock is read, with the caller's mutex held until cv.wait drops
    // it: a move of the clock either is seen here or finds this waiter and notifies it after
    // it sleeps (wake() takes the caller's mutex to notify).
    {
      std::lock_guard g(reg_mu_);
      waiters_.push_back(w);
    }
    reg_cv_.notify_all();
    if (now() < deadline) cv.wait(lk);
    // Unregistered without the caller's mutex (wake() takes it under w->gate): once `gone` is
    // set no wake() touches the caller's mutex or condition variable again.
    lk.unlock();
    {
      std::lock_guard g(reg_mu_);
      std::erase(waiters_, w);
    }
    {
      std::lock_guard g(w->gate);
      w->gone = true;
    }
    lk.lock();
    return now() >= deadline;
  }

  // For tests that must see a background thread done with what a move of the clock made due:
  // true once `n` threads wait on this clock for a deadline still ahead of it (after
  // advance(), a waiter whose deadline passed counts again only when it has acted and waits
  // anew). False after `timeout` of real time.
  bool waitForSleepers(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    std::unique_lock g(reg_mu_);
    return reg_cv_.wait_for(g, timeout, [&] {
      const TimePoint t = now();
      return static_cast<size_t>(std::count_if(waiters_.begin(), waiters_.end(), [&](const auto& w) {
               return w->deadline > t;
             })) >= n;
    });
  }

 private:
  struct Waiter {
    Waiter(std::mutex* m, std::condition_variable* c, TimePoint d) : mu(m), cv(c), deadline(d) {}
    std::mutex* mu;
    std::condition_variable* cv;
    TimePoint deadline;
    std::mutex gate;
    bool gone = false;
  };

  void wake() const {
    std::vector<std::shared_ptr<Waiter>> ws;
    {
      std::lock_guard g(reg_mu_);
      ws = waiters_;
    }
    for (const auto& w : ws) {
      std::lock_guard g(w->gate);
      if (w->gone) continue;
      std::lock_guard m(*w->mu);
      w->cv->notify_all();
    }
    reg_cv_.notify_all();
  }

  std::atomic<TimePoint::rep> t_;
  mutable std::mutex reg_mu_;
  mutable std::condition_variable reg_cv_;
  mutable std::vector<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace jitb::core
