// Policy explain for the console: the policies in force judge a stored ticket for a caller's
// claims, as an issuance would, without issuing anything.
#pragma once

#include <string>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/issuing/ports.h"
#include "broker/store/store.h"
#include "policies/engine/decision.h"

namespace jitb::issuing {

// NotFound when the ticket is not stored; Unavailable when no policy is in force. The caller's
// issuer and subject are the claims' iss and sub (the claims are not a verified token: this
// answers "what if", not who may).
core::StatusOr<policies::Decision> explain(const PolicyHolder& policies, store::Store& store,
                                           const std::string& ticket_id,
                                           const boost::json::object& claims,
                                           const policies::IssueRequest& request,
                                           core::TimePoint now);

}  // namespace jitb::issuing
