#include "broker/server/build_databases.h"

#include "broker/server/config_databases.h"

namespace jitb::server {

core::StatusOr<std::unique_ptr<Databases>> buildDatabases(const Config& cfg, store::Store& store,
                                                          audit::AuditSink& audit,
                                                          const core::Clock& clock,
                                                          leases::LeaseManager& leases,
                                                          const issuing::PolicyHolder& policies) {
  auto out = std::make_unique<Databases>();
  if (auto set = policies.get())
    if (core::Status st = checkDatabaseGrants(cfg, *set); !st.ok()) return st;
  if (cfg.databases.empty()) return out;
  std::map<std::string, downstream::RoleAdmin*> admins;
  for (const auto& d : cfg.databases) {
    auto dsn = readDsnFile(d.dsn_file);
    if (!dsn.ok())
      return core::invalidArgument("databases '" + d.name + "': " + dsn.status().message());
    out->admins.push_back(std::make_unique<downstream::PgRoleAdmin>(*dsn));
    admins[d.name] = out->admins.back().get();
    out->targets[d.name] = {out->admins.back().get(), d.host, static_cast<int>(d.port), d.database,
                            static_cast<int>(d.connection_limit)};
  }
  out->revoker = std::make_unique<downstream::DatabaseRevoker>(store, audit, clock, admins);
  // The job is written with the end; the poke runs it now rather than at the next poll.
  downstream::DatabaseRevoker* r = out->revoker.get();
  leases.addListener([r](const std::vector<store::EndedLease>& ended, store::LeaseState) {
    for (const auto& l : ended)
      if (l.kind == store::LeaseKind::kDatabase) return r->poke();
  });
  return out;
}

}  // namespace jitb::server
