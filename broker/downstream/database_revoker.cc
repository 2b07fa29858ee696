#include "broker/downstream/database_revoker.h"

#include <boost/json.hpp>
#include <optional>
#include <vector>

#include "broker/audit/record_text.h"
#include "broker/core/files.h"
#include "broker/downstream/role_revocation.h"

namespace jitb::downstream {

namespace json = boost::json;

struct DatabaseRevoker::Work {
  store::JobRow job;
  json::object claims;
  std::optional<RoleRevocation> revocation;
  RevocationProgress progress;
  bool started = false;
  bool ok = false;
};

namespace {

std::vector<std::string> stringList(const json::value* v) {
  std::vector<std::string> out;
  if (const json::array* a = v ? v->if_array() : nullptr)
    for (const auto& e : *a)
      if (e.is_string()) out.emplace_back(e.as_string());
  return out;
}

std::string stringField(const json::object& o, const char* k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

DatabaseRevoker::DatabaseRevoker(store::Store& store, audit::AuditSink& audit,
                                 const core::Clock& clock,
                                 std::map<std::string, RoleAdmin*> databases, RevokerConfig cfg)
    : store_(store),
      audit_(audit),
      clock_(clock),
      dbs_(std::move(databases)),
      cfg_(cfg),
      worker_(clock, [this] { tick(); }) {}

DatabaseRevoker::~DatabaseRevoker() { stop(); }

void DatabaseRevoker::start() { worker_.start(std::chrono::milliseconds(200)); }

void DatabaseRevoker::tick() {
  const int64_t now = core::unixMillis(clock_.now());
  runOnce(now);
  if (now >= next_reap_) {
    reap(now);
    next_reap_ = now + cfg_.reap_every.count();
  }
}

void DatabaseRevoker::stop() { worker_.stop(); }

void DatabaseRevoker::poke() { worker_.poke(); }

int64_t DatabaseRevoker::backoffMs(int attempts) {
  int64_t base = cfg_.initial_backoff.count();
  for (int i = 1; i < attempts && base < cfg_.max_backoff.count(); ++i) base *= 2;
  base = std::max<int64_t>(1, std::min<int64_t>(base, cfg_.max_backoff.count()));
  unsigned char r[4];
  core::randomBytes(r, sizeof r);
  uint32_t x = (uint32_t{r[0]} << 24) | (uint32_t{r[1]} << 16) | (uint32_t{r[2]} << 8) | r[3];
  // Jitter in [0.5, 1.5) of the base, so that many failed jobs do not retry in step.
  return base / 2 + static_cast<int64_t>(x % static_cast<uint32_t>(base));
}

size_t DatabaseRevoker::runOnce(int64_t now) {
  auto due = store_.dueJobsOf("database", now, 500);
  if (!due.ok() || due->empty()) return 0;
  std::vector<Work> work(due->size());
  // Phase one for every job: the role can no longer log in, holds no group, has no session.
  for (size_t i = 0; i < due->size(); ++i) {
    Work& w = work[i];
    w.job = (*due)[i];
    auto lease = store_.getLease(w.job.lease_id);
    if (!lease.ok()) {
      w.progress.error = "read lease: " + lease.status().message();
      continue;
    }
    if (!lease->has_value()) {
      w.ok = true;  // nothing recorded, nothing to revoke
      continue;
    }
    json::error_code ec;
    json::value claims = json::parse((*lease)->claims, ec);
    if (!ec && claims.is_object()) w.claims = claims.as_object();
    w.progress = RevocationProgress::fromJson(w.claims.if_contains("revocation"));
    std::string db = stringField(w.claims, "database");
    auto it = dbs_.find(db);
    if (it == dbs_.end()) {
      w.progress.error = "database '" + db + "' is not configured";
      continue;
    }
    w.revocation.emplace(*it->second, roleNameFor(w.job.lease_id),
                         stringList(w.claims.if_contains("roles")));
    w.started = w.revocation->startCut(w.progress);
  }
  // The signalled backends exit meanwhile: most are gone by the time they are counted.
  for (Work& w : work)
    if (w.started) w.revocation->settleCut(w.progress);
  // Phase two: the cleanup, once every role of the batch is cut.
  for (Work& w : work)
    if (w.revocation && w.progress.cut()) w.ok = w.revocation->drop(w.progress);
  size_t finished = 0;
  for (Work& w : work) {
    finish(w, now);
    if (w.ok) ++finished;
  }
  return finished;
}

void DatabaseRevoker::finish(Work& w, int64_t now) {
  if (w.revocation) {
    w.progress.error = w.ok ? std::string() : w.progress.error;
    w.claims["revocation"] = w.progress.toJson();
    (void)store_.updateLeaseClaims(w.job.lease_id, json::serialize(w.claims));
  }
  if (w.ok) {
    (void)store_.finishJob(w.job.id);
    if (w.revocation)
      (void)audit_.append("database.role_dropped",
                          {{"lease", w.job.lease_id},
                           {"role", roleNameFor(w.job.lease_id)},
                           {"sessions_terminated", w.progress.sessions_terminated}});
    return;
  }
  int attempts = w.job.attempts + 1;
  bool attention = attempts >= cfg_.max_attempts;
  int64_t next = now + (attention ? cfg_.attention_retry.count() : backoffMs(attempts));
  (void)store_.retryJob(w.job.id, attempts, next,
                        attention ? store::JobState::kAttention : store::JobState::kPending,
                        w.progress.error);
  if (attention && w.job.state != store::JobState::kAttention)
    (void)audit_.append("revocation.failed", {{"lease", w.job.lease_id},
                                              {"attempts", attempts},
                                              {"error", w.progress.error}});
}

size_t DatabaseRevoker::reap(int64_t now) {
  size_t removed = 0;
  bool ended = false;
  for (auto& [name, admin] : dbs_) {
    auto roles = admin->brokerRoles();
    if (!roles.ok()) continue;
    for (const std::string& role : *roles) {
      std::string id = leaseIdOfRole(role);
      auto lease = store_.getLease(id);
      if (!lease.ok()) continue;  // unsure: leave it for the next round
      json::object claims;
      if (lease->has_value()) {
        json::error_code ec;
        json::value v = json::parse((*lease)->claims, ec);
        if (!ec && v.is_object()) claims = v.as_object();
      }
      if (lease->has_value() && (*lease)->state == store::LeaseState::kActive) {
        const json::value* activated = claims.if_contains("activated");
        bool handed_out = activated && activated->is_bool() && activated->as_bool();
        if (handed_out || (*lease)->issued_at > now - cfg_.activation_grace.count()) continue;
        // The end writes the lease's database job in its transaction: runOnce removes the role.
        const json::object fields{{"lease", id}, {"reason", "activation_interrupted"}};
        if (store_.auditsInTransaction()) {
          // Its record commits with the end (store::EndAudit).
          auto end = store_.endLeasesAudited(
              {id}, store::LeaseState::kRevoked, "activation_interrupted", now,
              [&](const std::vector<store::EndedLease>& e) {
                std::vector<std::string> bodies;
                if (!e.empty())
                  bodies.push_back(audit::recordBody({"lease.revoked", fields}, clock_.now()));
                return bodies;
              });
          ended = ended || (end.ok() && !end->empty());
          continue;
        }
        auto end = store_.endLease(id, store::LeaseState::kRevoked, "activation_interrupted", now);
        if (end.ok() && end->has_value()) {
          ended = true;
          (void)audit_.append("lease.revoked", fields);
        }
        continue;
      }
      std::vector<std::string> groups = stringList(claims.if_contains("roles"));
      RoleRevocation r(*admin, role, groups);
      RevocationProgress p;
      if (r.cut(p) && r.drop(p)) {
        ++removed;
        (void)audit_.append("database.role_reaped",
                            {{"database", name}, {"role", role}, {"lease", id},
                             {"sessions_terminated", p.sessions_terminated}});
      }
    }
  }
  if (ended) runOnce(now);
  return removed;
}

}  // namespace jitb::downstream
