// The broker describing itself: GET /v1/openapi.yaml (docs/openapi.yaml, built into the
// binary) and the admin-only GET /v1/routes (what is registered, which a test compares with
// that document so neither can drift).
#pragma once

#include "broker/api/admin.h"
#include "broker/http/router.h"

namespace jitb::server {

// The text of docs/openapi.yaml as built in.
std::string_view openApiDocument();

// Register last: /v1/routes lists what the router holds when it is called.
void addReferenceRoutes(http::Router& router, const api::AdminAuth& admin);

}  // namespace jitb::server
