// CA certificates as files: making, reading and writing the root's and the intermediate's.
// Used at bootstrap and by `jitbroker ca`; never on the issuing path.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "ca/key.h"
#include "ca/ossl.h"
#include "ca/result.h"

namespace jitb::ca {

std::string certPem(X509* c);
// NotFound when the file cannot be read; InvalidArgument when it holds no PEM certificate.
Result<X509Ptr> readCert(const std::string& path);
// The first certificate of PEM text; InvalidArgument when there is none.
Result<X509Ptr> certFromPem(std::string_view pem);
// 0600, whole and fsynced, then renamed over `path`.
bool writeCert(const std::string& path, X509* c);
// A CA certificate for `subject_key`, signed by `issuer_key` (self-signed when `issuer` is
// null), valid from an hour before `now` for `days`; pathlen < 0 means unlimited.
Result<X509Ptr> makeCaCert(const std::string& cn, const PrivateKey& subject_key, X509* issuer,
                           const PrivateKey& issuer_key, std::chrono::system_clock::time_point now,
                           long days, int pathlen);

}  // namespace jitb::ca
