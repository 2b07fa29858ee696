#include "broker/pki/pki_service.h"

#include <boost/json.hpp>

#include "broker/core/encoding.h"
#include "broker/http/errors.h"
#include "broker/pki/ocsp_try_later.h"

namespace jitb::pki {

namespace {

core::Status fromCa(const ca::Error& e) {
  switch (e.code) {
    case ca::ErrorCode::kInvalidArgument: return core::invalidArgument(e.message);
    case ca::ErrorCode::kPermissionDenied: return {core::Code::kPermissionDenied, e.message};
    case ca::ErrorCode::kNotFound: return core::notFound(e.message);
    case ca::ErrorCode::kInternal: break;
  }
  return core::internalError(e.message);
}

ca::ProfileKind kindOf(policies::CertProfile p) {
  switch (p) {
    case policies::CertProfile::kClient: return ca::ProfileKind::kClient;
    case policies::CertProfile::kServer: return ca::ProfileKind::kServer;
    case policies::CertProfile::kSpiffe: return ca::ProfileKind::kSpiffe;
  }
  return ca::ProfileKind::kClient;
}

// An mTLS caller's claims: those the broker verified when it issued the certificate's lease
// (kept with the lease), so that a grant's claim conditions and {claims.NAME} templates judge a
// renewal as they judged the first issuance, and so that the lease review, which judges the
// renewed lease on the claims recorded with it, reaches the same decision. `iss` is the broker,
// `sub` the certificate's URI SAN, `cnf` the certificate's hash; `original_iss` names the issuer
// whose token the chain of renewals started from, for grants that must tell them apart.
boost::json::object peerClaims(const store::LeaseRow& lease, const ca::PeerIdentity& peer,
                               const std::string& broker) {
  boost::json::object claims;
  boost::json::error_code ec;
  boost::json::value kept = boost::json::parse(lease.caller_claims, ec);
  if (!ec && kept.is_object()) claims = std::move(kept.as_object());
  for (const char* time_claim : {"exp", "iat", "nbf", "jti"}) claims.erase(time_claim);
  if (!lease.caller_issuer.empty() && lease.caller_issuer != broker)
    claims["original_iss"] = lease.caller_issuer;
  claims["iss"] = broker;
  claims["sub"] = peer.uri;
  claims["cnf"] = {{"x5t#S256", peer.sha256_b64url}};
  return claims;
}

// RFC 6960 answers even a malformed request with an OCSP response; the HTTP status tells a
// client that does not read the body that its request was at fault. A good answer and the
// CA's own failure (internalError) are both 200: the responder worked.
int ocspHttpStatus(const ca::OcspAnswer& a) { return a.malformed ? 400 : 200; }

}  // namespace

ca::RevocationReason reasonFor(const std::string& r) {
  if (r == "admin") return ca::RevocationReason::kPrivilegeWithdrawn;
  if (r == "ticket_changed" || r == "approval_withdrawn" || r == "policy_changed" ||
      r == "review_failed")
    return ca::RevocationReason::kPrivilegeWithdrawn;
  // Closed tickets, ended windows, holders giving credentials back: the use is over.
  return ca::RevocationReason::kCessationOfOperation;
}

PkiService::PkiService(ca::SigningAuthority& ca, store::Store& store, const core::Clock& clock,
                       metrics::Registry& metrics, std::chrono::seconds crl_next_update,
                       std::string issuer_url)
    : ca_(ca),
      store_(store),
      clock_(clock),
      metrics_(metrics),
      next_update_(crl_next_update),
      issuer_url_(std::move(issuer_url)) {
  metrics_.declareCounter("jitbroker_crl_builds_total", "CRLs signed.");
  metrics_.declareGauge("jitbroker_crl_entries", "Entries on the current CRL.");
  metrics_.declareCounter("jitbroker_ocsp_responses_total", "OCSP answers, by HTTP status.");
}

core::StatusOr<issuing::CertResult> PkiService::issue(const issuing::CertRequest& req,
                                                      core::TimePoint now) {
  ca::IssuanceProfile p;
  p.kind = kindOf(req.profile);
  p.common_name = req.common_name;
  p.dns_sans = req.dns_sans;
  p.uri_sans = req.uri_sans;
  p.not_after = req.not_after;
  issuing::CertResult out;
  ca::IssuedCertificate cert;
  if (req.csr.empty()) {
    auto r = ca_.issueWithServerKey(p, ca::KeyAlgorithm::kEcP256, now);
    if (!r.ok()) return fromCa(r.error());
    cert = std::move(r->certificate);
    out.private_key_pem = std::move(r->private_key_pem);
  } else {
    auto csr = ca::Csr::parse(req.csr);
    if (!csr.ok()) return fromCa(csr.error());
    auto r = ca_.issue(*csr, p, now);
    if (!r.ok()) return fromCa(r.error());
    cert = std::move(*r);
  }
  out.certificate_pem = std::move(cert.pem);
  out.chain_pem = ca_.chainPem();
  out.serial_hex = std::move(cert.serial_hex);
  out.not_after = cert.not_after;
  return out;
}

core::StatusOr<issuing::Caller> PkiService::authenticate(std::string_view cert_der,
                                                         core::TimePoint now) {
  auto peer = ca::peerIdentity(cert_der);
  if (!peer.ok()) return core::Status(core::Code::kUnauthenticated, peer.error().message);
  auto lease = store_.findLeaseBySerial(peer->serial_hex);
  if (!lease.ok()) return lease.status();
  int64_t now_ms = core::unixMillis(now);
  if (lease->has_value() && (*lease)->state == store::LeaseState::kRevoked) {
    const std::string& why = (*lease)->reason;
    if (why == "ticket_closed" || why == "ticket_canceled" || why == "ticket_rejected" ||
        why == "window_ended")
      return core::Status(core::Code::kUnauthenticated,
                          "client certificate is revoked: ticket " + (*lease)->ticket +
                              " is closed or its window is over (this is final)",
                          std::string(issuing::kTicketClosedDetail));
  }
  if (!lease->has_value() || (*lease)->state != store::LeaseState::kActive ||
      (*lease)->expires_at <= now_ms)
    return core::Status(core::Code::kUnauthenticated, "client certificate is revoked, expired or unknown");
  return issuing::Caller{issuer_url_, peer->uri, peerClaims(**lease, *peer, issuer_url_)};
}

core::StatusOr<std::string> PkiService::crlDer() {
  std::lock_guard lk(crl_mu_);
  core::TimePoint now = clock_.now();
  if (shared_crl_) {
    auto shared = sharedCrlDer(now);
    if (shared.ok() || shared.status().code() != core::Code::kNotFound) return shared;
    shared_crl_ = false;  // the store keeps no CRL (SQLite): this broker builds its own
  }
  // Concurrent fetches after a burst of revocations wait here and share one rebuild.
  if (!crl_dirty_.exchange(false) && !crl_der_.empty() && now - crl_built_ < next_update_ / 2)
    return crl_der_;
  auto built = buildCrl(now);
  if (!built.ok()) {
    crl_dirty_ = true;
    return built.status();
  }
  crl_der_ = std::move(built->der);
  crl_built_ = now;
  return crl_der_;
}

core::StatusOr<store::StoredCrl> PkiService::buildCrl(core::TimePoint now) {
  int64_t now_ms = core::unixMillis(now);
  auto rows = store_.revokedUnexpiredCertificates(now_ms);
  auto number = rows.ok() ? store_.nextCounter("crl_number") : core::StatusOr<int64_t>(rows.status());
  if (!rows.ok() || !number.ok()) return rows.ok() ? number.status() : rows.status();
  std::vector<ca::RevokedEntry> entries;
  entries.reserve(rows->size());
  for (const auto& l : *rows)
    entries.push_back({l.serial, core::TimePoint(std::chrono::milliseconds(l.ended_at)), reasonFor(l.reason)});
  auto der = ca_.buildCrlDer(entries, *number, now, next_update_);
  if (!der.ok()) return fromCa(der.error());
  metrics_.add("jitbroker_crl_builds_total", {});
  metrics_.set("jitbroker_crl_entries", {}, static_cast<double>(entries.size()));
  return store::StoredCrl{*number, now_ms, std::move(*der)};
}

ca::CertStatus PkiService::lookup(const std::string& serial_hex, bool& failed) {
  auto l = store_.findLeaseBySerial(serial_hex);
  if (!l.ok()) failed = true;  // not "unknown": tryLater, see ocsp()
  if (!l.ok() || !l->has_value()) return {};  // unknown
  const store::LeaseRow& row = **l;
  if (row.state == store::LeaseState::kRevoked)
    return {ca::CertState::kRevoked, core::TimePoint(std::chrono::milliseconds(row.ended_at)),
            reasonFor(row.reason)};
  return {ca::CertState::kGood};
}

ca::OcspAnswer PkiService::ocsp(std::string_view request_der) {
  bool failed = available_ && !available_();
  ca::OcspAnswer a;
  if (!failed)
    a = ca_.respondOcsp(
        request_der, [this, &failed](const std::string& s) { return lookup(s, failed); },
        clock_.now(), std::chrono::minutes(5));
  // A signed "good" from a replica that cannot see the store could hide a revocation.
  if (failed) a = {false, ocspTryLaterDer()};
  metrics_.add("jitbroker_ocsp_responses_total", {{"code", std::to_string(ocspHttpStatus(a))}});
  return a;
}

void PkiService::addRoutes(http::Router& router) {
  router.addInline("GET", "/v1/ca/chain.pem", [this](http::Request&) {
    http::Response r;
    r.content_type = "application/pem-certificate-chain";
    for (const auto& pem : ca_.chainPem()) r.body += pem;
    return r;
  });
  // The current CRL in one of its two encodings.
  auto crl = [this](const char* content_type, std::string (*encode)(const std::string& der)) {
    return [this, content_type, encode](http::Request&) {
      auto der = crlDer();
      if (!der.ok()) return http::errorResponse(der.status());
      http::Response r;
      r.content_type = content_type;
      r.body = encode(*der);
      return r;
    };
  };
  router.add("GET", "/v1/ca/crl", crl("application/pkix-crl", [](const std::string& der) {
               return der;
             }));
  router.add("GET", "/v1/ca/crl.pem", crl("application/x-pem-file", [](const std::string& der) {
               return ca::derToPem(der, "X509 CRL");
             }));
  auto answer = [](const ca::OcspAnswer& a) {
    http::Response r;
    r.status = ocspHttpStatus(a);
    r.content_type = "application/ocsp-response";
    r.body = a.response_der;
    return r;
  };
  // OCSP reads the store and signs: nothing that blocks, so on the I/O thread. (The CRL may be
  // re-signed and its number written, so it stays on a handler thread.)
  router.addInline("POST", "/v1/ocsp", [this, answer](http::Request& req) {
    return answer(ocsp(req.body));
  });
  // RFC 6960 A.1 GET form: the path's last segment is the base64 request, URL-encoded; the
  // router has already percent-decoded it.
  router.addInline("GET", "/v1/ocsp/{request}", [this, answer](http::Request& req) {
    auto der = core::base64Decode(req.params["request"]);
    return answer(ocsp(der ? *der : std::string()));
  });
}

}  // namespace jitb::pki
