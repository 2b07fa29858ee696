// POST /v1/policies/explain: a question, not an action, so auditors may ask it too.
#pragma once

#include "broker/api/admin.h"
#include "broker/core/clock.h"
#include "broker/http/router.h"
#include "broker/issuing/ports.h"
#include "broker/store/store.h"

namespace jitb::api {

void addExplainRoute(http::Router& router, const issuing::PolicyHolder& policies,
                     store::Store& store, const core::Clock& clock, const AdminAuth& admin);

}  // namespace jitb::api
