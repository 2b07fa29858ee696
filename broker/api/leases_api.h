// Admin views and actions on leases (docs/api.md#leases-admin).
#pragma once

#include "broker/api/admin.h"
#include "broker/http/router.h"
#include "broker/leases/lease_manager.h"
#include "broker/store/store.h"

namespace jitb::api {

void addLeaseRoutes(http::Router& router, store::Store& store, leases::LeaseManager& leases,
                    const AdminAuth& admin);

}  // namespace jitb::api
