#include "broker/store/postgres/pg_pool.h"

namespace jitb::store::pg {

Pool::Pool(std::string uri, size_t max_conns, int connect_timeout_s, std::chrono::milliseconds wait)
    : uri_(std::move(uri)), max_(max_conns), connect_timeout_s_(connect_timeout_s), wait_(wait) {}

Pool::Handle::~Handle() {
  if (conn_) pool_->giveBack(std::move(conn_));
}

void Pool::giveBack(std::unique_ptr<Conn> c) {
  {
    std::lock_guard lk(mu_);
    if (c->healthy())
      idle_.push_back(std::move(c));
    else
      --open_;  // dropped: its slot is free for a fresh connection
  }
  cv_.notify_one();
}

core::StatusOr<Pool::Handle> Pool::acquire() {
  {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, wait_, [&] { return !idle_.empty() || open_ < max_; }))
      return core::unavailable("the store has no free connection; try again");
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Handle(this, std::move(c));
    }
    ++open_;  // reserved while connecting, outside the lock
  }
  auto c = Conn::connect(uri_, connect_timeout_s_);
  if (!c.ok()) {
    {
      std::lock_guard lk(mu_);
      --open_;
    }
    cv_.notify_one();
    return c.status();
  }
  return Handle(this, std::move(*c));
}

}  // namespace jitb::store::pg
