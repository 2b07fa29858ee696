// RFC 8555 protocol state on top of issuing and the store (docs/acme.md): the directory,
// accounts bound to a ticket through external account binding, orders for the names the
// grant allows, http-01 authorizations, finalize through the X.509 issuance (each certificate a
// lease of the ticket), download, revocation, key change and deactivation. Every object lives
// in the store, so several replicas serve one ACME client. No transport: the adapter
// (broker/api/acme_api.h) hands in the path and body and sends the Reply. Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "broker/acme/http01.h"
#include "broker/acme/nonces.h"
#include "broker/acme/reply.h"
#include "broker/core/offload.h"
#include "broker/issuing/service.h"
#include "broker/jose/flattened.h"
#include "broker/leases/lease_manager.h"
#include "broker/metrics/registry.h"
#include "broker/store/store.h"

namespace jitb::acme {

struct AcmeDeps {
  store::Store& store;
  issuing::IssuanceService& issuing;
  leases::LeaseManager& leases;
  const core::Clock& clock;
  Http01Client& http01;
  std::string base_url;  // public_url + "/acme"
  metrics::Registry* metrics = nullptr;  // for jitbroker_acme_bad_nonce_total
  int64_t reject_nonce_every = 0;        // acme.reject_nonce_every (NonceOptions::reject_every)
};

// What POST /v1/acme/eab hands out, once its lease is durable.
struct EabGrant {
  std::string kid, hmac_key, lease_id, ticket, grant;
  std::vector<std::string> dns_names;
  issuing::Caller caller;
};

class AcmeService {
 public:
  explicit AcmeService(AcmeDeps deps);
  core::Status init() { return nonces_.init(); }

  // Records a new EAB key so that newAccount can use it (single use, until its lease ends).
  core::Status recordEab(const EabGrant& g);

  Reply directory() const;
  std::string newNonce() { return nonces_.issue(); }
  // A lease manager listener: an ended acme_account lease (its ticket closed, its window over,
  // an admin revoked it) deactivates its account and invalidates the account's open orders
  // at once. The account's certificates are leases of the ticket and end with it.
  void leasesEnded(const std::vector<store::EndedLease>& ended, store::LeaseState state);

  // A POST to base_url + `path` ("/new-account", "/order/ID/finalize", ...). `done` runs once,
  // on this thread or, for a finalize, on one `offload` provides.
  void post(const std::string& path, std::string_view body, std::function<void(Reply)> done,
            core::Offload offload);

 private:
  struct Signed;
  using Checked = std::variant<Signed*, Problem>;
  // Who may sign a request: a `jwk` (new-account), an account's `kid` (most), or either
  // (revoke-cert, RFC 8555 §7.6: the account's key or the certificate's own).
  enum class Signer { kJwk, kKid, kEither };
  // The JWS checks of RFC 8555 §6.2-6.5 for a request to `url`: flattened JSON, an accepted
  // alg, a fresh nonce, the url, and a signature by the `jwk` or by the key of the `kid`
  // account, which must be valid and its ticket open.
  std::optional<Problem> verify(std::string_view body, const std::string& url, Signer signer,
                                Signed& out);
  Reply newAccount(Signed& s);
  Reply account(Signed& s, const std::string& id);
  Reply keyChange(Signed& s);
  Reply newOrder(Signed& s);
  Reply order(Signed& s, const std::string& id);
  Reply authz(Signed& s, const std::string& id);
  Reply challenge(Signed& s, const std::string& id);
  void finalize(Signed& s, const std::string& id, std::function<void(Reply)> done,
                core::Offload offload);
  Reply certificate(Signed& s, const std::string& id);
  Reply revokeCert(Signed& s);
  // revokeCert signed by the certificate's key: the lease of an order's certificate.
  std::variant<std::string, Problem> leaseOfOwnCertificate(const Signed& s, const std::string& der,
                                                           const std::string& serial);

  // The account's row, or the problem; ends an account whose ticket lease is over.
  std::variant<store::AcmeRow, Problem> liveAccount(const std::string& id);
  // Deactivates `acct` (still "valid") and invalidates its pending and ready orders.
  core::Status endAccount(const store::AcmeRow& acct, const std::string& why);
  // Loads the order of `account`, bringing its status up to date with its authorizations.
  std::variant<store::AcmeRow, Problem> loadOrder(const std::string& account, const std::string& id);
  boost::json::object orderJson(const store::AcmeRow& order) const;
  boost::json::object authzJson(const store::AcmeRow& authz) const;
  std::string url(const std::string& suffix) const { return d_.base_url + suffix; }
  int64_t nowMs() const { return core::unixMillis(d_.clock.now()); }

  AcmeDeps d_;
  Nonces nonces_;
};

}  // namespace jitb::acme
