#include "broker/api/admin.h"

#include <openssl/crypto.h>

#include "broker/http/errors.h"
#include "broker/http/form.h"

namespace jitb::api {

std::optional<http::Response> AdminAuth::check(const http::Request& req,
                                               operators::Operator* who) const {
  const bool reads = req.method == "GET" || req.method == "HEAD";
  return check(req, reads ? Need::kRead : Need::kAct, who);
}

std::optional<http::Response> AdminAuth::check(const http::Request& req, Need need,
                                               operators::Operator* who) const {
  std::string_view presented = http::bearerToken(req);
  // Length is not secret (it is fixed); the bytes are compared in constant time.
  bool admin_file = !token_.empty() && presented.size() == token_.size() &&
                    CRYPTO_memcmp(presented.data(), token_.data(), token_.size()) == 0;
  std::optional<operators::Operator> op;
  if (admin_file) {
    op = operators::Operator{operators::Role::kAdmin, "admin.token", ""};
  } else if (tokens_ && !presented.empty()) {
    auto found = tokens_->verify(presented);
    if (!found.ok()) return http::errorResponse(found.status());
    op = std::move(*found);
  }
  if (!op)
    return http::errorResponse(
        {core::Code::kUnauthenticated, presented.empty()
                                           ? "this endpoint needs the admin bearer token"
                                           : "the admin bearer token is not valid"});
  if (need == Need::kAct && op->role != operators::Role::kAdmin) {
    // Refusals are audited: an auditor trying to act is worth a line in the chain.
    if (audit_)
      (void)audit_->append("operator.refused", {{"name", op->name},
                                                {"role", operators::toString(op->role)},
                                                {"lease", op->lease_id},
                                                {"method", req.method},
                                                {"path", req.path}});
    return http::errorResponse({core::Code::kPermissionDenied,
                                std::string("the ") + operators::toString(op->role) +
                                    " role may read the admin views but not act"});
  }
  if (who) *who = std::move(*op);
  return std::nullopt;
}

}  // namespace jitb::api
