// The `tickets:` section of the config: the signed webhook, ServiceNow and Jira.
#pragma once

#include "broker/server/config.h"
#include "broker/server/yaml_checker.h"

namespace jitb::server {

void parseTickets(Checker& c, const YAML::Node& n, Config& cfg);

}  // namespace jitb::server
