// Continuations that must not run on the thread that completed an asynchronous write (a store
// or audit writer thread must never wait for itself) are handed to an Offload, which runs them
// where a thread may block: a handler thread in the server, the waiting thread in awaitHere().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

namespace jitb::core {

using Offload = std::function<void(std::function<void()>)>;

// Runs start(done, offload) and waits on this thread for the value passed to done; work
// offloaded meanwhile runs on this thread too. For synchronous callers of asynchronous code.
template <class T, class Start>
T awaitHere(Start&& start) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<T> result;
  std::deque<std::function<void()>> work;
  start(
      [&](T v) {
        std::lock_guard lk(m);
        result.emplace(std::move(v));
        cv.notify_one();
      },
      Offload([&](std::function<void()> fn) {
        std::lock_guard lk(m);
        work.push_back(std::move(fn));
        cv.notify_one();
      }));
  std::unique_lock lk(m);
  for (;;) {
    cv.wait(lk, [&] { return result || !work.empty(); });
    if (result) return std::move(*result);
    auto fn = std::move(work.front());
    work.pop_front();
    lk.unlock();
    fn();
    lk.lock();
  }
}

}  // namespace jitb::core
