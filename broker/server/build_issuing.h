// The composition root's issuing step: the caller verifier and token service over the keys,
// the lookup gate, the issuance service with its credential minters, and the wire adapter's
// routes (token exchange, certificates, introspection and revocation). A new credential kind
// adds its minter (and its adapter's routes) here.
#pragma once

#include <memory>

#include "broker/api/admin.h"
#include "broker/audit/audit_log.h"
#include "broker/core/clock.h"
#include "broker/http/router.h"
#include "broker/api/acme_api.h"
#include "broker/api/database_api.h"
#include "broker/api/issuing_api.h"
#include "broker/issuing/acme_account_minter.h"
#include "broker/issuing/database_minter.h"
#include "broker/issuing/certificate_minter.h"
#include "broker/issuing/service.h"
#include "broker/issuing/token_minter.h"
#include "broker/issuing/lookup_gate.h"
#include "broker/leases/lease_manager.h"
#include "broker/metrics/registry.h"
#include "broker/pki/pki_service.h"
#include "broker/server/adapters.h"
#include "broker/server/build_keys.h"
#include "broker/server/build_ssh.h"
#include "broker/server/config.h"
#include "broker/store/store.h"
#include "broker/tickets/refresher.h"

namespace jitb::server {

struct Issuing {
  std::unique_ptr<TrustCallerVerifier> callers;
  std::unique_ptr<SignerTokenService> tokens;
  // Stopped right after the server: lookups still running finish before the store closes.
  std::unique_ptr<issuing::LookupGate> lookup_gate;
  std::unique_ptr<issuing::IssuanceService> service;
  std::unique_ptr<issuing::TokenMinter> token_minter;
  std::unique_ptr<issuing::CertificateMinter> certificate_minter;
  std::unique_ptr<api::IssuingApi> api;
  SshParts ssh;
  core::Status failed;  // a part that could not be built (the SSH CA key): the broker stops
  std::unique_ptr<issuing::DatabaseMinter> database_minter;
  std::unique_ptr<api::DatabaseApi> database_api;
  // ACME (docs/acme.md): EAB keys as a credential kind, and the RFC 8555 server.
  std::unique_ptr<issuing::AcmeAccountMinter> acme_minter;
  std::unique_ptr<acme::Http01Client> http01;
  std::unique_ptr<acme::AcmeService> acme;
  std::unique_ptr<api::AcmeApi> acme_api;
};

struct IssuingDeps {
  Keys& keys;
  pki::PkiService& pki;
  const issuing::PolicyHolder& policies;
  tickets::Refresher& tickets;
  leases::LeaseManager& leases;
  store::Store& store;
  audit::AuditSink& audit;
  const core::Clock& clock;
  metrics::Registry& registry;
  const api::AdminAuth& admin;
  // The `databases:` targets; null or empty: no database credentials.
  const std::map<std::string, issuing::DatabaseTarget>* databases = nullptr;
};

// Builds the issuance service and adds its routes to `router`.
Issuing buildIssuing(const Config& cfg, IssuingDeps deps, http::Router& router);

}  // namespace jitb::server
