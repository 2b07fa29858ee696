// The composition root's storage step: the SQLite store and the audit log, both in data_dir.
#pragma once

#include <memory>

#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/server/config.h"
#include "broker/store/sqlite_store.h"

namespace jitb::server {

struct Storage {
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<audit::AuditLog> audit;
};

// Opens (creating on first start) the store at cfg.sqlite_path, owner-only, and the audit log.
// `clock` must outlive the audit log.
core::StatusOr<Storage> buildStore(const Config& cfg, const core::Clock& clock);

}  // namespace jitb::server
