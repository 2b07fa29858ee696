// Composition root: wires config, data dir, TLS identity, routes and the HTTPS server.
// The only place that knows which implementations are in use.
#pragma once

#include <memory>

#include "broker/server/config.h"

namespace jitb::server {

// Starts the broker and serves until SIGTERM; returns the process exit code.
int runBroker(Config cfg);

}  // namespace jitb::server
