// The composition root's database step (docs/database-credentials.md): one role admin per
// `databases:` entry on the broker's login, the targets the database minter issues on, and
// the revoker that runs the database leases' revocation jobs (poked when leases end, so the
// login, memberships and sessions go within a second) and reaps leftover roles.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/downstream/database_revoker.h"
#include "broker/downstream/pg_role_admin.h"
#include "broker/issuing/database_minter.h"
#include "broker/issuing/ports.h"
#include "broker/leases/lease_manager.h"
#include "broker/server/config.h"
#include "broker/store/store.h"

namespace jitb::server {

struct Databases {
  std::vector<std::unique_ptr<downstream::PgRoleAdmin>> admins;
  std::map<std::string, issuing::DatabaseTarget> targets;  // by config name
  std::unique_ptr<downstream::DatabaseRevoker> revoker;    // null without databases
};

// Fails when a dsn file cannot be read or is not 0600, or a grant names a database the
// config does not list.
core::StatusOr<std::unique_ptr<Databases>> buildDatabases(const Config& cfg, store::Store& store,
                                                          audit::AuditSink& audit,
                                                          const core::Clock& clock,
                                                          leases::LeaseManager& leases,
                                                          const issuing::PolicyHolder& policies);

}  // namespace jitb::server
