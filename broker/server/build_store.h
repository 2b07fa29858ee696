// The composition root's storage step: the store (SQLite in data_dir, or PostgreSQL) and the
// audit log, which stays in data_dir on either backend.
#pragma once

#include <functional>
#include <memory>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/server/config.h"
#include "broker/store/store.h"

namespace jitb::server {

struct Storage {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<audit::AuditLog> audit;
  // Runs the writes still queued and their completions, then refuses new work: for shutdown,
  // before the objects those completions use are destroyed. Store has no close() of its own
  // because each backend's means something different (a writer thread, a worker pool).
  std::function<void()> close_store;
  // On PostgreSQL, the session that holds the lock saying this broker serves the database
  // (see buildStore); released when the Storage goes.
  std::shared_ptr<void> single_broker;
  // On PostgreSQL, the audit log in the store (store::PgAuditSink), which then takes every
  // record: this replica's chain, named replica_id.
  std::unique_ptr<audit::AuditSink> store_audit;
  std::string replica_id;
  audit::AuditSink& sink() { return store_audit ? *store_audit : *audit; }
};

// Opens the store that cfg names: cfg.sqlite_path (created on first start, owner-only), or
// cfg.postgres_url (the schema migrated under the store's lock). Then the audit log: the file
// in data_dir, and on PostgreSQL the store's chain of this replica, which takes the records.
// On PostgreSQL without keys.kek_file a second broker on the same database and schema is
// refused (Conflict) while the first runs: the signing keys and the CA are then in each
// broker's data_dir, so two brokers would publish different keys for one store. With
// keys.kek_file they share the store's keys, and any number of them may serve it.
// `clock` must outlive the audit log.
core::StatusOr<Storage> buildStore(const Config& cfg, const core::Clock& clock);

}  // namespace jitb::server
