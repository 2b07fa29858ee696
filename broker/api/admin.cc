#include "broker/api/admin.h"

#include <openssl/crypto.h>

#include "broker/http/errors.h"
#include "broker/http/form.h"

namespace jitb::api {

std::optional<http::Response> AdminAuth::check(const http::Request& req) const {
  std::string_view presented = http::bearerToken(req);
  // Length is not secret (it is fixed); the bytes are compared in constant time.
  bool ok = !token_.empty() && presented.size() == token_.size() &&
            CRYPTO_memcmp(presented.data(), token_.data(), token_.size()) == 0;
  if (ok) return std::nullopt;
  http::Response r = http::errorResponse(
      {core::Code::kUnauthenticated,
       presented.empty() ? "this endpoint needs the admin bearer token"
                         : "the admin bearer token is not valid"});
  return r;
}

}  // namespace jitb::api
