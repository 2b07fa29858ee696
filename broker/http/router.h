// Maps method + path pattern to a plain handler function. Patterns are literal segments and
// "{name}" captures, e.g. "/v1/leases/{id}/revoke". Not thread-safe to modify; routes are
// registered once at start and then only read.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/status.h"
#include "broker/http/message.h"

namespace jitb::http {

using Handler = std::function<Response(Request&)>;

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  // Fills req.params and runs the handler. Unknown path → 404 JSON, known path with another
  // method → 405 JSON with Allow. `route` receives the matched pattern (bounded cardinality,
  // for metrics) or "unmatched".
  Response dispatch(Request& req, std::string& route) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Splits an origin-form target ("/a/b?x=1") into req.path and req.query, percent-decoding
// both. Fails with InvalidArgument for anything that is not a valid origin-form target.
core::Status parseTarget(std::string_view target, Request& req);

}  // namespace jitb::http
