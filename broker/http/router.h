// Maps method + path pattern to a handler function. Patterns are literal segments and
// "{name}" captures, e.g. "/v1/leases/{id}/revoke". Not thread-safe to modify; routes are
// registered once at start and then only read.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/offload.h"
#include "broker/core/status.h"
#include "broker/http/message.h"

namespace jitb::http {

// Answers one request, once, from any thread: a handler may answer after it returns, from
// the thread that completes its work. Copies share the answer; calls after the first are
// ignored.
class Responder {
 public:
  // `offload` runs continuations where a thread may block (see core/offload.h).
  Responder(std::function<void(Response)> send, core::Offload offload);
  void operator()(Response r) const;
  void offload(std::function<void()> fn) const { s_->offload(std::move(fn)); }
  // The same, as the core::Offload a domain call takes for its continuations.
  core::Offload offloader() const { return s_->offload; }

 private:
  struct State {
    std::atomic<bool> answered{false};
    std::function<void(Response)> send;
    core::Offload offload;
  };
  std::shared_ptr<State> s_;
};

// May block: runs through the responder's offload (a handler thread in the server).
using Handler = std::function<Response(Request&)>;
// Runs where dispatch() is called (an I/O thread in the server), so it must not block: it
// answers through the responder, now or later, and offloads what may block. What it needs of
// the request after it returns it must copy or move: the request is gone by then.
using AsyncHandler = std::function<void(Request&, const Responder&)>;

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);
  // A plain handler that never blocks (CPU work and store reads only): it runs where
  // dispatched, saving the hop to a handler thread.
  void addInline(std::string method, std::string pattern, Handler handler);
  void addAsync(std::string method, std::string pattern, AsyncHandler handler);

  struct RouteName {
    std::string method;
    std::string pattern;
  };
  // Every registered method + pattern, in registration order (for GET /v1/routes, which a test
  // compares with docs/openapi.yaml).
  std::vector<RouteName> routes() const;

  // Fills req.params and runs the handler. Unknown path → 404 JSON, known path with another
  // method → 405 JSON with Allow. `route` receives the matched pattern (bounded cardinality,
  // for metrics) or "unmatched" before any answer is sent.
  void dispatch(Request& req, std::string& route, const Responder& respond) const;
  // The same, waiting for the answer on this thread (tests, fuzzing).
  Response dispatch(Request& req, std::string& route) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    AsyncHandler handler;
  };
  std::vector<Route> routes_;
};

// Splits an origin-form target ("/a/b?x=1") into req.path and req.query, percent-decoding
// both. Fails with InvalidArgument for anything that is not a valid origin-form target.
core::Status parseTarget(std::string_view target, Request& req);

}  // namespace jitb::http
