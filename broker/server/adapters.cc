#include "broker/server/adapters.h"

#include <limits>

namespace jitb::server {

core::StatusOr<issuing::Caller> TrustCallerVerifier::verify(std::string_view jwt,
                                                            core::TimePoint now) {
  auto v = trust_.verify(jwt, now);
  if (!v.ok()) return v.status();
  return issuing::Caller{v->issuer, v->subject, v->claims};
}

core::StatusOr<std::string> SignerTokenService::sign(const boost::json::object& claims) {
  return signer_.sign(claims);
}

core::StatusOr<boost::json::object> SignerTokenService::verify(std::string_view jwt) {
  auto keys = signer_.keySet();
  if (!keys) return core::Status(core::Code::kUnauthenticated, "no signing keys");
  // Liveness is the lease's to decide (introspection checks it), so expiry is not judged
  // here: an expired token must still be recognised as ours.
  jose::VerifyOptions opts{issuer_, "", std::chrono::seconds(std::numeric_limits<int32_t>::max()),
                           true};
  auto v = jose::verifyJwt(jwt, *keys, opts, clock_.now());
  if (!v.ok()) return v.status();
  return std::move(v->claims);
}

}  // namespace jitb::server
