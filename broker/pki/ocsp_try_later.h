// The OCSP answer for "cannot say now" (RFC 6960 4.2.1 tryLater): what a replica that cannot
// reach its store answers, since "good" could hide a revocation made through another replica.
#pragma once

#include <string>

namespace jitb::pki {

// A DER OCSPResponse with responseStatus tryLater (3) and no body (unsigned, as the RFC says).
std::string ocspTryLaterDer();

}  // namespace jitb::pki
