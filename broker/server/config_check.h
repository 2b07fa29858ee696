// `jitbroker check`: what `serve` would read and reach, checked without binding a port or
// writing a file, so that a config `check` passes is one `serve` starts with.
#pragma once

#include <string>
#include <vector>

#include "broker/core/status.h"
#include "broker/server/config.h"

namespace jitb::server {

struct CheckOptions {
  bool offline = false;  // skip the network: JWKS URLs, the ITSM, the revocation hook
};

// Every problem found, each naming its config key and the file or URL ("" when none);
// empty when serve would start with this config. Files serve would create (secrets, data_dir)
// must be creatable; files it reads must be readable and well-formed.
// What is not a problem but worth saying (the PostgreSQL schema's version) goes to `notes`.
std::vector<std::string> checkServeConfig(const Config& cfg, const CheckOptions& opts,
                                          std::vector<std::string>* notes = nullptr);

// The PostgreSQL store's schema at `uri`: its version and the migration files serve would
// apply, read without migrating. An unreachable server, or a schema newer than this binary
// (which serve refuses), is an error.
core::StatusOr<std::string> describePostgresSchema(const std::string& uri);

}  // namespace jitb::server
