// Name rules: what a profile may contain, and what a CSR may ask for within a profile.
#pragma once

#include <string_view>

#include "ca/authority.h"

namespace jitb::ca {

bool isDnsName(std::string_view name);
// SPIFFE ID rules (X509-SVID): spiffe://<trust domain>/<path>, lowercase trust domain of
// [a-z0-9.-_], non-empty path of [A-Za-z0-9.-_] segments, no "." or "..", no trailing slash,
// no query or fragment, at most 2048 bytes.
bool isSpiffeId(std::string_view uri);

// The profile is well-formed: valid names, exactly one SPIFFE ID for spiffe, at least one
// DNS or IP name for server.
Result<bool> validateProfile(const IssuanceProfile& p);
// Every name the CSR asks for is in the profile; PermissionDenied naming the first that is not.
Result<bool> csrWithinProfile(const Csr& csr, const IssuanceProfile& p);

}  // namespace jitb::ca
