// One background thread that runs a callback every period, for the broker's pollers,
// probes and refreshers: each of them stops, wakes early and joins the same way, so the
// wait-and-stop loop (and its races) is written once, here.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "broker/core/clock.h"

namespace jitb::core {

class Ticker {
 public:
  enum class Start {
    kRunAtOnce,  // the first run as soon as the thread starts
    kWaitFirst,  // the first run one period after start() (what was read at start is fresh)
  };

  // Waits real (steady) time between runs: a jump of the wall clock neither stretches nor
  // cuts a wait, for loops that must keep going whatever the clock says (health probes).
  explicit Ticker(std::function<void()> tick, Start start = Start::kRunAtOnce);
  // Waits on `clock` (Clock::waitUntil), so a test that moves its FakeClock wakes the thread
  // instead of sleeping. `clock` must outlive this.
  Ticker(const Clock& clock, std::function<void()> tick, Start start = Start::kRunAtOnce);
  // Stops (and joins).
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  // Starts the thread: runs the callback, then waits `period` (from the end of that run) or
  // until poke(), and again, until stop(). Only the first call starts anything; after stop()
  // none does.
  void start(std::chrono::milliseconds period);
  // The next run begins without waiting out the period: at once when the thread is waiting,
  // right after the run in progress otherwise (so what prompted the poke is seen). Pokes
  // before the thread is ready coalesce into that one run.
  void poke();
  // No run begins once this returns; a run in progress is finished first. Idempotent and
  // safe from any thread but the callback's own.
  void stop();

 private:
  Ticker(const Clock* clock, std::function<void()> tick, Start start);
  void loop(std::chrono::milliseconds period);
  void waitPeriod(std::unique_lock<std::mutex>& lk, std::chrono::milliseconds period);

  const Clock* const clock_;  // null: real time
  const std::function<void()> tick_;
  const Start start_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stop_ = false;
  bool poked_ = false;
  // Held around the thread's start and join, so two stop()s (or a stop() and the destructor)
  // never join one thread at once.
  std::mutex join_mu_;
  std::thread thread_;
};

}  // namespace jitb::core
