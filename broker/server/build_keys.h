// The composition root's key step: the broker's token signer, and the trust store of caller
// token issuers (configured entries, plus the local dev issuer in dev mode only).
#pragma once

#include <memory>
#include <string>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/jose/signer.h"
#include "broker/jose/verifier.h"
#include "broker/server/config.h"

namespace jitb::server {

// The issuer name of dev mode's local OIDC issuer (trusted only by `jitbroker dev`).
inline constexpr const char* kDevIssuer = "jitbroker-dev";

struct Keys {
  std::unique_ptr<jose::TokenSigner> signer;      // data_dir/jwt
  std::unique_ptr<jose::TokenSigner> dev_issuer;  // data_dir/dev-oidc; dev mode only
  std::unique_ptr<jose::TrustStore> trust;
};

// Fails naming the trust entry and file of a JWKS file that cannot be read or parsed.
core::StatusOr<Keys> buildKeys(const Config& cfg, core::TimePoint now);

// How a trust entry's jwks_url is fetched: HTTPS GET trusting `ca_file` (empty: the system
// store); a failure is logged for the operator (the caller is told only "no keys yet").
jose::FetchingKeySource::Fetcher jwksFetcher(std::string ca_file, std::string issuer);

}  // namespace jitb::server
