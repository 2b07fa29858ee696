// Read-only views of the audit log for operators and auditors: the chain's state, matching
// records (a ticket's history and decisions, revocations, reviews) and the file for export.
#pragma once

#include <string>

#include "broker/api/admin.h"
#include "broker/http/router.h"

namespace jitb::api {

void addAuditRoutes(http::Router& router, std::string audit_path, const AdminAuth& admin);

}  // namespace jitb::api
