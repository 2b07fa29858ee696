// HTTP towards an ITSM API, shared by the ServiceNow and Jira sources: a rate limit (the
// instance's API is shared with its users), timeouts, and retries with jittered exponential
// backoff on connection errors, 429 and 5xx (Retry-After honoured, capped). Thread-safe.
//
// The rate is split in two lanes. Reads that keep revocation on time (triggers, polls) are
// paced to the rest of the rate and wait for their slot. On-demand lookups for an issuance
// (made inside a LookupLane) never wait: they take a token from their own bucket, refilled at
// `lookup_share` of the rate, or fail at once. Neither lane can use the other's share, so no
// number of lookups delays a trigger.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "broker/core/status.h"
#include "broker/core/token_bucket.h"

namespace jitb::tickets {

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::map<std::string, std::string> headers;
  std::string body;
};

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One request, no retries: Unavailable when the server cannot be reached.
using HttpTransport = std::function<core::StatusOr<HttpAnswer>(const HttpCall&)>;

struct RetryPolicy {
  int max_attempts = 3;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  double requests_per_second = 10;  // 0: unlimited
  // The part of requests_per_second that lookups may use (at most 0.9); their bucket holds
  // max(8, one second's worth) requests.
  double lookup_share = 0.3;
};

// While one lives, requests that this thread sends through any ItsmHttp are lookups (see
// above). A thread-local mark because the sources between the refresher and this client know
// what to read, not why.
class LookupLane {
 public:
  LookupLane();
  ~LookupLane();
  LookupLane(const LookupLane&) = delete;
  LookupLane& operator=(const LookupLane&) = delete;
  static bool active();

 private:
  bool outer_;
};

class ItsmHttp {
 public:
  using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;
  // `sleep` and `now` are injected so tests do not wait.
  ItsmHttp(HttpTransport transport, RetryPolicy policy,
           std::function<void(std::chrono::milliseconds)> sleep = {}, SteadyNow now = {});

  // Sends `call`, retrying as above. The final answer is returned whatever its status (the
  // caller reads 4xx bodies); Unavailable after the last failed attempt on a retryable error,
  // and at once for a lookup that finds its lane's budget spent.
  core::StatusOr<HttpAnswer> send(const HttpCall& call);

 private:
  void pace();
  bool takeLookupToken();
  double lookupRate() const;
  std::chrono::milliseconds backoff(int attempt, const HttpAnswer* answer) const;

  HttpTransport transport_;
  RetryPolicy policy_;
  std::function<void(std::chrono::milliseconds)> sleep_;
  SteadyNow now_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_slot_{};
  std::optional<core::TokenBucket<std::chrono::steady_clock::time_point>> lookup_bucket_;
};

// The rel="next" URL of a Link header (RFC 8288), if any.
std::optional<std::string> linkNext(std::string_view link_header);
// "Basic base64(user:secret)".
std::string basicAuth(std::string_view user, std::string_view secret);
// The scheme://host[:port] part of a URL, for checking that a Link stays on the same origin.
std::string urlOrigin(std::string_view url);

}  // namespace jitb::tickets
