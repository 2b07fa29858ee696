#include "broker/tickets/itsm_http.h"

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "broker/core/encoding.h"

namespace jitb::tickets {

namespace {

bool retryable(int status) { return status == 429 || status == 502 || status == 503 || status == 504 || status == 500; }

// Retry-After in delta-seconds (the HTTP-date form is rare from these APIs and is ignored).
std::optional<std::chrono::milliseconds> retryAfter(const HttpAnswer& a) {
  auto it = a.headers.find("retry-after");
  if (it == a.headers.end()) return std::nullopt;
  int64_t s = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), s);
  if (ec != std::errc() || p != it->second.data() + it->second.size() || s < 0) return std::nullopt;
  return std::chrono::milliseconds(s * 1000);
}

thread_local bool t_lookup_lane = false;

}  // namespace

LookupLane::LookupLane() : outer_(t_lookup_lane) { t_lookup_lane = true; }
LookupLane::~LookupLane() { t_lookup_lane = outer_; }
bool LookupLane::active() { return t_lookup_lane; }

ItsmHttp::ItsmHttp(HttpTransport transport, RetryPolicy policy,
                   std::function<void(std::chrono::milliseconds)> sleep, SteadyNow now)
    : transport_(std::move(transport)), policy_(policy), sleep_(std::move(sleep)),
      now_(std::move(now)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
}

double ItsmHttp::lookupRate() const {
  return policy_.requests_per_second * std::clamp(policy_.lookup_share, 0.0, 0.9);
}

bool ItsmHttp::takeLookupToken() {
  if (policy_.requests_per_second <= 0) return true;
  const double rate = lookupRate();
  // Enough for a few ticket reads at once (a record, its approvals, its people: 2 to 4
  // requests each) when no one is flooding.
  const core::RateLimit limit{rate, rate > 0 ? std::max(8.0, rate) : 0};
  std::lock_guard lk(mu_);
  const auto now = now_();
  if (!lookup_bucket_) lookup_bucket_.emplace(limit, now);
  return lookup_bucket_->take(limit, now);
}

void ItsmHttp::pace() {
  if (policy_.requests_per_second <= 0) return;
  // What the lookups' share leaves; theirs is not used by this lane even when idle, so that
  // no burst of lookups can push a trigger back.
  auto gap = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(1.0 / (policy_.requests_per_second - lookupRate())));
  std::chrono::steady_clock::time_point slot;
  {
    // Each caller reserves the next free slot, then waits for it outside the lock.
    std::lock_guard lk(mu_);
    auto now = now_();
    slot = std::max(now, next_slot_);
    next_slot_ = slot + gap;
  }
  auto wait = slot - now_();
  if (wait > std::chrono::steady_clock::duration::zero())
    sleep_(std::chrono::duration_cast<std::chrono::milliseconds>(wait));
}

std::chrono::milliseconds ItsmHttp::backoff(int attempt, const HttpAnswer* answer) const {
  if (answer)
    if (auto ra = retryAfter(*answer)) return std::min(*ra, policy_.max_backoff);
  std::chrono::milliseconds base = policy_.initial_backoff * (int64_t{1} << std::min(attempt, 16));
  base = std::min(base, policy_.max_backoff);
  unsigned char r = 0;
  RAND_bytes(&r, 1);
  // Full jitter in [base/2, base]: replicas that failed together do not retry together.
  return base / 2 + base * r / 512;
}

core::StatusOr<HttpAnswer> ItsmHttp::send(const HttpCall& call) {
  core::Status last = core::unavailable("no attempt was made");
  const bool lookup = LookupLane::active();
  for (int attempt = 0; attempt < std::max(1, policy_.max_attempts); ++attempt) {
    if (!lookup) {
      pace();
    } else if (!takeLookupToken()) {
      // Waiting here would hold a lookup thread and keep the caller waiting for a budget
      // that triggers and polls need more: the caller is told to come back instead.
      return core::Status(core::Code::kUnavailable,
                          "its request budget for lookups is spent; try again shortly",
                          "lookup_budget");
    }
    auto r = transport_(call);
    bool last_try = attempt + 1 >= policy_.max_attempts;
    if (r.ok() && !retryable(r->status)) return r;
    if (r.ok()) {
      last = core::unavailable("answered HTTP " + std::to_string(r->status));
      if (last_try) break;
      sleep_(backoff(attempt, &*r));
    } else {
      if (r.status().code() != core::Code::kUnavailable) return r.status();
      last = r.status();
      if (last_try) break;
      sleep_(backoff(attempt, nullptr));
    }
  }
  return core::Status(core::Code::kUnavailable, last.message(), last.detail());
}

std::optional<std::string> linkNext(std::string_view h) {
  // <url>; rel="next", <url>; rel="last"
  while (!h.empty()) {
    size_t lt = h.find('<');
    if (lt == std::string_view::npos) return std::nullopt;
    size_t gt = h.find('>', lt);
    if (gt == std::string_view::npos) return std::nullopt;
    std::string_view url = h.substr(lt + 1, gt - lt - 1);
    size_t next = h.find('<', gt);
    std::string_view params = h.substr(gt + 1, next == std::string_view::npos ? h.npos : next - gt - 1);
    for (std::string_view v : {"rel=\"next\"", "rel=next"})
      if (params.find(v) != std::string_view::npos) return std::string(url);
    if (next == std::string_view::npos) break;
    h.remove_prefix(next);
  }
  return std::nullopt;
}

std::string basicAuth(std::string_view user, std::string_view secret) {
  return "Basic " + core::base64Encode(std::string(user) + ":" + std::string(secret));
}

std::string urlOrigin(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  size_t end = url.find_first_of("/?#", scheme + 3);
  return std::string(url.substr(0, end));
}

}  // namespace jitb::tickets
