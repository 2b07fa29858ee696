// Runs the "database" revocation jobs the store writes when a database lease ends (see
// Store::dueJobsOf): each due job's role is cut (RoleRevocation::cut) before any role of the
// batch is dropped, so that a ticket with many leases loses every login first. Progress is
// recorded in the lease's claims ("revocation", shown by GET /v1/leases/{id}); a job whose
// steps fail backs off with jitter and, past max_attempts, is marked for attention and still
// retried. The reaper revokes broker-named roles (kReapPrefix) whose lease is not active:
// what a crash between a lease's insert and its role's creation, or an operator, left behind;
// and it ends the lease of a role that was made but never handed out (see activation_grace).
#pragma once

#include <map>
#include <string>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/core/ticker.h"
#include "broker/downstream/role_admin.h"
#include "broker/store/store.h"

namespace jitb::downstream {

struct RevokerConfig {
  int max_attempts = 8;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{60'000};
  std::chrono::milliseconds attention_retry{600'000};
  std::chrono::milliseconds reap_every{10'000};
  // An active lease whose role exists but was never marked "activated" this long after its
  // issue: the broker died between creating the role and answering. Its lease is revoked.
  std::chrono::milliseconds activation_grace{10'000};
};

class DatabaseRevoker {
 public:
  // `databases`: by config name; the admins outlive the revoker.
  DatabaseRevoker(store::Store& store, audit::AuditSink& audit, const core::Clock& clock,
                  std::map<std::string, RoleAdmin*> databases, RevokerConfig cfg = {});
  ~DatabaseRevoker();

  // Reaps once, then runs jobs as they come due (poke() after a lease ends) and reaps every
  // reap_every.
  void start();
  void stop();
  void poke();

  // Runs the jobs due at `now`; returns how many finished. The worker calls it; tests too.
  size_t runOnce(int64_t now_ms);
  // Revokes every broker role without an active lease; returns how many it removed. Ends the
  // active lease of a role never marked activated (its job then removes the role).
  size_t reap(int64_t now_ms);

 private:
  struct Work;
  void finish(Work& w, int64_t now);
  // The worker's step: the due jobs, and the reaper when its time came.
  void tick();
  int64_t backoffMs(int attempts);

  store::Store& store_;
  audit::AuditSink& audit_;
  const core::Clock& clock_;
  std::map<std::string, RoleAdmin*> dbs_;
  RevokerConfig cfg_;
  int64_t next_reap_ = 0;  // tick() only
  core::Ticker worker_;    // last: stopped before the members tick() uses
};

}  // namespace jitb::downstream
