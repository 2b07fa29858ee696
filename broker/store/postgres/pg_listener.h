// LISTEN for the revocation events' NOTIFY (migrations/0012_revocation_events.sql) on a
// connection of its own: a pooled connection is handed to other work between calls, and its
// notifications would wait for the next query on it. The notification is a hint that wakes
// the fan-out poller early; the poll, not the hint, is what guarantees delivery, so a lost
// connection (and the notifications sent meanwhile) costs latency, never an event.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace jitb::store::pg {

// The channel the trigger notifies.
inline constexpr const char* kRevocationChannel = "jitb_revocations";

class Listener {
 public:
  // Starts the thread: it connects to `uri` (libpq URI, as the store's), LISTENs, and calls
  // `on_notify` on that thread after each notification and after each (re)connect (what was
  // sent while it was away is lost). It reconnects `retry` after a failure, until stop().
  Listener(std::string uri, std::function<void()> on_notify,
           std::chrono::milliseconds retry = std::chrono::milliseconds(250));
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Joins the thread; idempotent.
  void stop();
  bool listening() const { return listening_; }
  // Notifications received so far (tests, and the fan-out's metrics).
  uint64_t notifications() const { return notifications_; }

 private:
  void run();
  // One connection's life: returns when it is lost or stop() was called.
  void serve();
  bool stopping();

  const std::string uri_;
  const std::function<void()> on_notify_;
  const std::chrono::milliseconds retry_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> listening_{false};
  std::atomic<uint64_t> notifications_{0};
  std::thread thread_;
};

}  // namespace jitb::store::pg
