// Operator tokens (POST /v1/operator-tokens) and marking a break-glass review done
// (POST /v1/reviews/{id}): admin actions, audited with who did them.
#pragma once

#include "broker/api/admin.h"
#include "broker/audit/audit_log.h"
#include "broker/http/router.h"
#include "broker/operators/operator_tokens.h"
#include "broker/store/store.h"

namespace jitb::api {

void addOperatorRoutes(http::Router& router, operators::OperatorTokens& tokens,
                       store::Store& store, audit::AuditSink& audit, const AdminAuth& admin);

}  // namespace jitb::api
