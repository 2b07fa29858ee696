// GET /v1/revocations: the latest revocations, newest first, each with its reason and the lag
// from its ticket's last event (the close) being received to the revocation, in milliseconds.
#pragma once

#include <string>

#include "broker/api/admin.h"
#include "broker/http/router.h"
#include "broker/store/store.h"

namespace jitb::api {

void addRevocationRoute(http::Router& router, std::string audit_path, store::Store& store,
                        const AdminAuth& admin);

}  // namespace jitb::api
