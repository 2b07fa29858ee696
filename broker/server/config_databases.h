// The `databases:` section of the config (docs/database-credentials.md), the check that every
// grant's database is one of them, and the broker's login read from its 0600 dsn file.
#pragma once

#include <string>

#include "broker/core/status.h"
#include "broker/server/config.h"
#include "broker/server/yaml_checker.h"
#include "policies/engine/policy_set.h"

namespace jitb::server {

void parseDatabases(Checker& c, const YAML::Node& n, Config& cfg);

// InvalidArgument naming the first grant whose `database.name` is not configured.
core::Status checkDatabaseGrants(const Config& cfg, const policies::PolicySet& set);

// The dsn file's text; InvalidArgument when group or others may read it (like every secret
// file the broker reads), NotFound when it cannot be read.
core::StatusOr<std::string> readDsnFile(const std::string& path);

}  // namespace jitb::server
