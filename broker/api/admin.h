// Who may use the admin routes: the admin bearer token (data_dir/admin.token, compared in
// constant time, role admin) and operator tokens (operators::OperatorTokens) with a role.
#pragma once

#include <optional>
#include <string>

#include "broker/audit/audit_log.h"
#include "broker/http/message.h"
#include "broker/operators/operator_tokens.h"

namespace jitb::api {

class AdminAuth {
 public:
  explicit AdminAuth(std::string token) : token_(std::move(token)) {}
  // Operator tokens are accepted, and refusals audited, once set (before serving).
  void useOperators(const operators::OperatorTokens* tokens, audit::AuditSink* audit) {
    tokens_ = tokens;
    audit_ = audit;
  }

  enum class Need { kRead, kAct };
  // An error response unless the request carries a token allowed to do it: 401 (with
  // WWW-Authenticate) for a missing or unknown token, 403 for an auditor's action (audited).
  // The default need is the method's: GET and HEAD read, every other method acts, so an admin
  // route added later is closed to auditors unless it only reads. `who` receives the caller.
  std::optional<http::Response> check(const http::Request& req,
                                      operators::Operator* who = nullptr) const;
  std::optional<http::Response> check(const http::Request& req, Need need,
                                      operators::Operator* who = nullptr) const;

 private:
  std::string token_;
  const operators::OperatorTokens* tokens_ = nullptr;
  audit::AuditSink* audit_ = nullptr;
};

}  // namespace jitb::api
