// The composition root's key step: the broker's token signer, and the trust store of caller
// token issuers (configured entries, plus the local dev issuer in dev mode only).
#pragma once

#include <memory>
#include <string>

#include "broker/core/clock.h"
#include "broker/core/status.h"
#include "broker/jose/signer.h"
#include "broker/jose/verifier.h"
#include "broker/keystore/shared_keys.h"
#include "broker/keystore/token_keys.h"
#include "broker/server/config.h"

namespace jitb::server {

// The issuer name of dev mode's local OIDC issuer (trusted only by `jitbroker dev`).
inline constexpr const char* kDevIssuer = "jitbroker-dev";

// The KEK and the sealed keys in the store, when keys.kek_file is set.
struct SharedKeyStore {
  std::unique_ptr<keystore::Kek> kek;
  std::unique_ptr<keystore::SharedKeys> keys;
};

// Null without keys.kek_file; otherwise the KEK read (refused unless 32 bytes and 0600) over
// `store`, which must outlive it.
core::StatusOr<std::unique_ptr<SharedKeyStore>> buildSharedKeyStore(const Config& cfg,
                                                                    store::Store& store);

struct Keys {
  // data_dir/jwt, or the store's (then token_keys holds it too, and re-reads it).
  std::shared_ptr<jose::TokenSigner> signer;
  std::unique_ptr<jose::TokenSigner> dev_issuer;  // data_dir/dev-oidc; dev mode only
  std::unique_ptr<jose::TrustStore> trust;
  std::unique_ptr<keystore::TokenKeys> token_keys;  // keys in the store only
  SharedKeyStore* shared = nullptr;                 // as buildKeys was given it
};

// Fails naming the trust entry and file of a JWKS file that cannot be read or parsed. With
// `shared`, the signing keys are the store's, re-read every couple of seconds, and a rotation
// signs only after keys.jwks_max_age (keystore/token_keys.h); `clock` must outlive the Keys.
core::StatusOr<Keys> buildKeys(const Config& cfg, core::TimePoint now,
                               SharedKeyStore* shared = nullptr,
                               const core::Clock* clock = nullptr);

// How a trust entry's jwks_url is fetched: HTTPS GET trusting `ca_file` (empty: the system
// store); a failure is logged for the operator (the caller is told only "no keys yet").
jose::FetchingKeySource::Fetcher jwksFetcher(std::string ca_file, std::string issuer);

}  // namespace jitb::server
