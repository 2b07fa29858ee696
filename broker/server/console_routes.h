// The console at /ui/ (clients/console/), served from files built into the binary under a
// strict Content-Security-Policy: no inline script or style, nothing from elsewhere.
#pragma once

#include "broker/http/router.h"

namespace jitb::server {

void addConsoleRoutes(http::Router& router);

}  // namespace jitb::server
