// The CRL shared by replicas through the store: the leader builds and stores it, every replica
// serves the stored bytes, so that all answer the same (docs/replicas.md).
#include "broker/core/log.h"
#include "broker/pki/pki_service.h"

namespace jitb::pki {

PkiService::~PkiService() { stop(); }

void PkiService::certificatesRevoked() {
  dirty_at_ms_ = core::unixMillis(clock_.now());
  crl_dirty_ = true;
  {
    std::lock_guard lk(builder_mu_);
    told_ = true;
  }
  builder_cv_.notify_all();
}

void PkiService::startLeaderBuilds() {
  builder_ = std::thread([this] {
    std::unique_lock lk(builder_mu_);
    while (!stopping_) {
      core::waitUntil(clock_, lk, builder_cv_, core::TimePoint::max(),
                      [this] { return stopping_ || told_; });
      // Revocations told meanwhile are in the CRL this builds.
      core::waitUntil(clock_, lk, builder_cv_, clock_.now() + kBatch, [this] { return stopping_; });
      if (stopping_) break;
      told_ = false;
      lk.unlock();
      // Builds when this replica leads and the stored CRL is older than the revocation
      // (sharedCrlDer); otherwise only reads.
      if (leader_ && leader_->leads())
        if (auto der = crlDer(); !der.ok())
          core::logEvent("error", "pki", "crl.build_failed", {{"error", der.status().message()}});
      lk.lock();
    }
  });
}

void PkiService::stop() {
  {
    std::lock_guard lk(builder_mu_);
    stopping_ = true;
  }
  builder_cv_.notify_all();
  if (builder_.joinable()) builder_.join();
}

core::StatusOr<std::string> PkiService::sharedCrlDer(core::TimePoint now) {
  const bool dirty = crl_dirty_.load();
  // A copy read a moment ago serves, unless a revocation came since: the store is read at
  // most once a kReread per replica, not once a fetch.
  if (!dirty && !crl_der_.empty() && now - crl_read_ < kReread &&
      now - crl_built_ < next_update_ / 2)
    return crl_der_;
  auto stored = store_.getCrl(issuer_key_);
  if (!stored.ok()) return stored.status();  // NotFound: this store keeps none
  const int64_t dirty_at_ms = dirty_at_ms_.load();
  const core::TimePoint dirty_at{std::chrono::milliseconds(dirty_at_ms)};
  auto built_at = [](const store::StoredCrl& c) {
    return core::TimePoint(std::chrono::milliseconds(c.this_update));
  };
  const bool stale = !*stored || now - built_at(**stored) >= next_update_ / 2;
  // The stored CRL was built before a revocation this replica was told of.
  const bool behind = dirty && *stored && built_at(**stored) < dirty_at;
  const bool leads = leader_->leads();
  // Only the leader builds, but the work is never left undone: a replica builds when nothing
  // is stored, when the CRL is stale and no replica leads, or when the leader has not caught
  // up with a revocation after kLeaderGrace. Numbers come from the store's counter and a
  // lower-numbered CRL never replaces a stored one, so they only grow whoever builds.
  const bool build = !*stored || (leads && (stale || behind)) ||
                     (stale && !leader_->someoneLeads()) ||
                     (behind && now - dirty_at >= kLeaderGrace);
  if (build) {
    auto made = buildCrl(now);
    if (!made.ok()) return made.status();
    auto put = store_.putCrl(issuer_key_, *made);
    if (!put.ok()) return put.status();
    if (*put) {
      stored = std::optional<store::StoredCrl>(std::move(*made));
    } else {  // another replica stored a newer one meanwhile: that one serves
      stored = store_.getCrl(issuer_key_);
      if (!stored.ok()) return stored.status();
      if (!*stored) return core::unavailable("the CRL is not stored yet");
    }
  }
  crl_der_ = (*stored)->der;
  crl_built_ = built_at(**stored);
  crl_read_ = now;
  if (crl_built_ >= dirty_at) {
    crl_dirty_ = false;
    // certificatesRevoked sets the time before the flag: a revocation since the time was read
    // shows here, or sets the flag again after this.
    if (dirty_at_ms_.load() != dirty_at_ms) crl_dirty_ = true;
  }
  return crl_der_;
}

}  // namespace jitb::pki
