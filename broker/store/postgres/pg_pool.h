// A small pool of PostgreSQL connections. Thread-safe. A connection goes back to the pool when
// its holder is done, unless it broke: the next acquire then connects afresh, which is how the
// store recovers by itself when the server (or a promoted standby) returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/store/postgres/pg_conn.h"

namespace jitb::store::pg {

class Pool {
 public:
  Pool(std::string uri, size_t max_conns, int connect_timeout_s, std::chrono::milliseconds wait);

  // A connection held until it goes out of scope.
  class Handle {
   public:
    Handle(Pool* pool, std::unique_ptr<Conn> c) : pool_(pool), conn_(std::move(c)) {}
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = delete;
    ~Handle();
    Conn& operator*() { return *conn_; }
    Conn* operator->() { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  // Waits at most the pool's wait for a connection when all max_conns are in use: Unavailable then,
  // and when the server cannot be reached.
  core::StatusOr<Handle> acquire();

 private:
  void giveBack(std::unique_ptr<Conn> c);

  const std::string uri_;
  const size_t max_;
  const int connect_timeout_s_;
  const std::chrono::milliseconds wait_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  size_t open_ = 0;  // idle plus handed out plus being connected
};

}  // namespace jitb::store::pg
