#include "broker/pki/ssh_krl_service.h"

#include <charconv>

#include "broker/http/errors.h"
#include "ca/ssh_krl.h"

namespace jitb::pki {

namespace {
constexpr auto kMaxAge = std::chrono::seconds(1);

std::optional<uint64_t> decimal(const std::string& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}
}  // namespace

SshKrlService::SshKrlService(const ca::SshCa& ca, store::Store& store, const core::Clock& clock,
                             metrics::Registry& metrics)
    : ca_(ca), store_(store), clock_(clock), metrics_(metrics) {
  metrics_.declareCounter("jitbroker_ssh_krl_builds_total",
                          "SSH KRLs encoded because the set of revoked serials changed.");
  metrics_.declareGauge("jitbroker_ssh_krl_entries", "Serials in the current SSH KRL.");
}

core::StatusOr<std::string> SshKrlService::krl() {
  std::lock_guard lk(mu_);
  core::TimePoint now = clock_.now();
  // Concurrent fetches after a burst of revocations wait here and share one rebuild.
  if (!dirty_.exchange(false) && !krl_.empty() && now - built_ < kMaxAge) return krl_;
  auto rows = store_.revokedUnexpiredSsh(core::unixMillis(now));
  if (!rows.ok()) {
    dirty_ = true;
    return rows.status();
  }
  std::vector<ca::RevokedSshSerial> revoked;
  revoked.reserve(rows->size());
  for (const auto& l : *rows)
    if (auto s = decimal(l.serial))
      revoked.push_back({*s, core::TimePoint(std::chrono::milliseconds(l.expires_at))});
  std::vector<uint64_t> serials = ca::liveSerials(revoked, now);
  if (krl_.empty() || serials != serials_) {
    auto version = store_.nextCounter("ssh_krl_version");
    if (!version.ok()) {
      dirty_ = true;
      return version.status();
    }
    version_ = static_cast<uint64_t>(*version);
    serials_ = std::move(serials);
    krl_ = ca::encodeKrl({ca_.publicKeyBlob(), version_, now, std::move(revoked),
                          "jitbroker"});
    metrics_.add("jitbroker_ssh_krl_builds_total", {});
    metrics_.set("jitbroker_ssh_krl_entries", {}, static_cast<double>(serials_.size()));
  }
  built_ = now;
  return krl_;
}

void SshKrlService::addRoutes(http::Router& router) {
  router.addInline("GET", "/v1/ssh/ca.pub", [this](http::Request&) {
    http::Response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = ca_.publicKeyLine() + "\n";
    return r;
  });
  // Reads the store and may write the version counter: on a handler thread.
  router.add("GET", "/v1/ssh/krl", [this](http::Request&) {
    auto bytes = krl();
    if (!bytes.ok()) return http::errorResponse(bytes.status());
    http::Response r;
    r.content_type = "application/octet-stream";
    r.body = *bytes;
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  });
}

}  // namespace jitb::pki
