#include "broker/store/postgres/pg_listener.h"

#include <libpq-fe.h>
#include <poll.h>

#include <memory>

namespace jitb::store::pg {

namespace {

// How long one wait on the socket lasts: the bound on how late stop() is noticed.
constexpr int kWaitMs = 250;

using PgConnPtr = std::unique_ptr<pg_conn, void (*)(pg_conn*)>;

PgConnPtr connectTo(const std::string& uri) {
  // As Conn::connect: keepalives and a TCP user timeout turn a vanished server into an error
  // within seconds; the URI's own settings win.
  const char* keys[] = {"connect_timeout",     "keepalives_idle",  "keepalives_interval",
                        "keepalives_count",    "tcp_user_timeout", "dbname",
                        nullptr};
  const char* vals[] = {"2", "5", "1", "3", "10000", uri.c_str(), nullptr};
  PgConnPtr c(PQconnectdbParams(keys, vals, 1), [](pg_conn* p) { PQfinish(p); });
  if (c && PQstatus(c.get()) != CONNECTION_OK) c.reset();
  if (c) PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

}  // namespace

Listener::Listener(std::string uri, std::function<void()> on_notify,
                   std::chrono::milliseconds retry)
    : uri_(std::move(uri)), on_notify_(std::move(on_notify)), retry_(retry) {
  thread_ = std::thread([this] { run(); });
}

Listener::~Listener() { stop(); }

void Listener::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Listener::stopping() {
  std::lock_guard lk(mu_);
  return stop_;
}

void Listener::run() {
  while (!stopping()) {
    serve();
    listening_ = false;
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, retry_, [&] { return stop_; });
  }
}

void Listener::serve() {
  PgConnPtr c = connectTo(uri_);
  if (!c) return;
  const std::string listen = std::string("LISTEN ") + kRevocationChannel;
  pg_result* r = PQexec(c.get(), listen.c_str());
  const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) return;
  listening_ = true;
  on_notify_();  // whatever was notified while this connection was not listening
  while (!stopping()) {
    pollfd pfd{PQsocket(c.get()), POLLIN, 0};
    if (pfd.fd < 0) return;
    int n = ::poll(&pfd, 1, kWaitMs);
    if (n < 0) continue;  // EINTR
    if (n == 0) continue;
    if (PQconsumeInput(c.get()) == 0 || PQstatus(c.get()) != CONNECTION_OK) return;
    bool any = false;
    while (PGnotify* note = PQnotifies(c.get())) {
      any = true;
      PQfreemem(note);
    }
    if (any) {
      ++notifications_;
      on_notify_();
    }
  }
}

}  // namespace jitb::store::pg
