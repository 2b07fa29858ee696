// `jitbroker check`: what `serve` would read and reach, checked without binding a port or
// writing a file, so that a config `check` passes is one `serve` starts with.
#pragma once

#include <string>
#include <vector>

#include "broker/server/config.h"

namespace jitb::server {

struct CheckOptions {
  bool offline = false;  // skip the network: JWKS URLs, the ITSM, the revocation hook
};

// Every problem found, each naming its config key and the file or URL ("" when none);
// empty when serve would start with this config. Files serve would create (secrets, data_dir)
// must be creatable; files it reads must be readable and well-formed.
std::vector<std::string> checkServeConfig(const Config& cfg, const CheckOptions& opts);

}  // namespace jitb::server
