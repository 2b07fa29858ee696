#include "broker/acme/service.h"

#include <boost/json.hpp>

#include "broker/acme/signed.h"
#include "broker/core/duration.h"
#include "broker/core/files.h"

namespace jitb::acme {

namespace json = boost::json;
using detail::bodyOf;
using detail::str;

namespace detail {

json::object bodyOf(const store::AcmeRow& row) {
  json::error_code ec;
  json::value v = json::parse(row.body, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string newId(std::string_view prefix) { return std::string(prefix) + core::randomHex(12); }

std::string rfc3339(int64_t ms) {
  return core::formatRfc3339(core::TimePoint(std::chrono::milliseconds(ms)));
}

std::optional<std::string> idAfter(const std::string& path, std::string_view prefix,
                                   std::string_view suffix) {
  if (path.size() <= prefix.size() + suffix.size() || path.compare(0, prefix.size(), prefix) != 0 ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  std::string id = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (id.empty() || id.size() > 64 || id.find('/') != std::string::npos) return std::nullopt;
  return id;
}

}  // namespace detail

AcmeService::AcmeService(AcmeDeps deps)
    : d_(std::move(deps)),
      nonces_(d_.store, d_.clock, NonceOptions{std::chrono::hours(1), d_.reject_nonce_every, d_.metrics}) {}

core::Status AcmeService::recordEab(const EabGrant& g) {
  json::array names;
  for (const auto& n : g.dns_names) names.emplace_back(n);
  json::object body{{"hmac_key", g.hmac_key},
                    {"lease_id", g.lease_id},
                    {"grant", g.grant},
                    {"dns_names", std::move(names)},
                    {"caller", json::object{{"issuer", g.caller.issuer},
                                            {"subject", g.caller.subject},
                                            {"claims", g.caller.claims}}}};
  // The HMAC key is kept as issued, since the MAC must be verified with it; it opens one
  // account once, and only while its lease (the ticket) lasts.
  return d_.store.insertAcme(
      {g.kid, "eab", "", g.ticket, "pending", json::serialize(body), nowMs()});
}

Reply AcmeService::directory() const {
  return jsonReply(200, {{"newNonce", url("/new-nonce")},
                         {"newAccount", url("/new-account")},
                         {"newOrder", url("/new-order")},
                         {"revokeCert", url("/revoke-cert")},
                         {"keyChange", url("/key-change")},
                         {"meta", json::object{{"externalAccountRequired", true},
                                               {"website", d_.base_url.substr(0, d_.base_url.size() - 5)}}}});
}

void AcmeService::post(const std::string& path, std::string_view body,
                       std::function<void(Reply)> done, core::Offload offload) {
  Signed s;
  const std::string target = url(path);
  const Signer signer = path == "/new-account"   ? Signer::kJwk
                        : path == "/revoke-cert" ? Signer::kEither
                                                 : Signer::kKid;
  if (auto p = verify(body, target, signer, s)) return done(problemReply(*p));
  if (signer == Signer::kJwk) return done(newAccount(s));
  if (path == "/new-order") return done(newOrder(s));
  if (path == "/revoke-cert") return done(revokeCert(s));
  if (path == "/key-change") return done(keyChange(s));
  if (auto id = detail::idAfter(path, "/order/", "/finalize"))
    return finalize(s, *id, std::move(done), std::move(offload));
  if (auto id = detail::idAfter(path, "/account/", "/orders")) {
    if (s.account->id != *id) return done(problemReply(unauthorized("not this account's orders")));
    auto rows = d_.store.listAcme("order", *id);
    if (!rows.ok()) return done(problemReply(problemOf(rows.status())));
    json::array urls;
    for (const auto& r : *rows) urls.emplace_back(url("/order/" + r.id));
    return done(jsonReply(200, {{"orders", std::move(urls)}}));
  }
  if (auto id = detail::idAfter(path, "/account/")) return done(account(s, *id));
  if (auto id = detail::idAfter(path, "/order/")) return done(order(s, *id));
  if (auto id = detail::idAfter(path, "/authz/")) return done(authz(s, *id));
  if (auto id = detail::idAfter(path, "/chall/")) return done(challenge(s, *id));
  if (auto id = detail::idAfter(path, "/cert/")) return done(certificate(s, *id));
  done(problemReply(notFound("no such ACME resource")));
}

std::optional<Problem> AcmeService::verify(std::string_view body, const std::string& target,
                                           Signer signer, Signed& s) {
  auto jws = jose::decodeFlattened(body);
  if (!jws.ok()) return malformed(jws.status().message());
  s.jws = std::move(*jws);
  const json::object& h = s.jws.header;
  auto alg = jose::algFromName(str(h, "alg"));
  if (!alg)
    return Problem{400, "badSignatureAlgorithm", "the JWS alg must be ES256, RS256 or EdDSA"};
  if (core::Status st = nonces_.consume(str(h, "nonce")); !st.ok())
    return st.code() == core::Code::kInvalidArgument ? badNonce(st.message()) : problemOf(st);
  if (str(h, "url") != target) return unauthorized("the JWS url is not the URL of this request");
  const json::value* jwk = h.if_contains("jwk");
  const bool has_kid = h.contains("kid");
  if (jwk && has_kid) return malformed("the protected header must carry a jwk or a kid, not both");
  const bool want_jwk = signer == Signer::kJwk || (signer == Signer::kEither && jwk);
  if (want_jwk && (!jwk || !jwk->is_object() || has_kid))
    return malformed("this request must be signed with a jwk, and no kid, in its protected header");
  if (!want_jwk && (jwk || !has_kid))
    return malformed("this request must be signed with an account's kid, and no jwk");
  if (want_jwk) {
    s.jwk = jwk->as_object();
  } else {
    auto id = detail::idAfter(str(h, "kid"), url("/account/"));
    if (!id) return Problem{400, "accountDoesNotExist", "the kid is not an account URL of this server"};
    auto acct = liveAccount(*id);
    if (auto* p = std::get_if<Problem>(&acct)) return *p;
    s.account = std::get<store::AcmeRow>(std::move(acct));
    s.account_body = bodyOf(*s.account);
    if (auto* k = s.account_body.if_contains("key"); k && k->is_object()) s.jwk = k->as_object();
  }
  auto key = jose::publicKeyOfJwk(s.jwk);
  if (!key.ok()) return Problem{400, "badPublicKey", key.status().message()};
  if (!jose::verifySignature(*alg, key->get(), s.jws.signing_input, s.jws.signature))
    return malformed("the JWS signature does not verify");
  if (d_.reject_nonce_every > 0) {
    auto thumb = jose::jwkThumbprint(s.jwk);
    if (!thumb.ok()) return Problem{400, "badPublicKey", thumb.status().message()};
    if (core::Status st = nonces_.rejectForTesting(*thumb); !st.ok()) return badNonce(st.message());
  }
  if (s.jws.payload.empty()) {
    s.post_as_get = true;
    return std::nullopt;
  }
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  json::value p = json::parse(s.jws.payload, ec, {}, opts);
  if (ec || !p.is_object()) return malformed("the JWS payload is not a JSON object");
  s.payload = std::move(p.as_object());
  return std::nullopt;
}

std::variant<store::AcmeRow, Problem> AcmeService::liveAccount(const std::string& id) {
  auto row = d_.store.getAcme(id);
  if (!row.ok()) return problemOf(row.status());
  if (!row->has_value() || (*row)->kind != "account")
    return Problem{400, "accountDoesNotExist", "no such account"};
  store::AcmeRow acct = std::move(**row);
  if (acct.status != "valid") {
    std::string why = str(bodyOf(acct), "deactivated");
    return unauthorized("the account is " + acct.status + (why.empty() ? "" : ": " + why));
  }
  json::object body = bodyOf(acct);
  auto lease = d_.store.getLease(str(body, "lease_id"));
  if (!lease.ok()) return problemOf(lease.status());
  if (lease->has_value() && (*lease)->state == store::LeaseState::kActive) return acct;
  // The lease ended without the listener seeing it (the broker stopped in between).
  const std::string why = "its ticket " + acct.ticket + " is closed or its window is over";
  if (core::Status st = endAccount(acct, why); !st.ok()) return problemOf(st);
  return unauthorized("the account is deactivated: " + why);
}

core::Status AcmeService::endAccount(const store::AcmeRow& acct, const std::string& why) {
  store::AcmeRow ended = acct;
  json::object body = bodyOf(acct);
  body["deactivated"] = why;
  ended.status = "deactivated";
  ended.body = json::serialize(body);
  ended.updated_at = nowMs();
  auto w = d_.store.updateAcme(ended, "valid");
  if (!w.ok()) return w.status();
  auto orders = d_.store.listAcme("order", acct.id);
  if (!orders.ok()) return orders.status();
  for (store::AcmeRow o : *orders)
    if (o.status == "pending" || o.status == "ready") {
      std::string was = o.status;
      o.status = "invalid";
      o.updated_at = nowMs();
      auto ow = d_.store.updateAcme(o, was);
      if (!ow.ok()) return ow.status();
    }
  return core::okStatus();
}

void AcmeService::leasesEnded(const std::vector<store::EndedLease>& ended, store::LeaseState state) {
  for (const auto& l : ended) {
    if (l.kind != store::LeaseKind::kAcmeAccount || l.jti.empty()) continue;
    // The lease's jti is the EAB key id; the used key names its account.
    auto eab = d_.store.getAcme(l.jti);
    if (!eab.ok() || !eab->has_value() || (*eab)->account.empty()) continue;
    auto acct = d_.store.getAcme((*eab)->account);
    if (!acct.ok() || !acct->has_value() || (*acct)->status != "valid") continue;
    // A failure here is caught up by liveAccount on the account's next request.
    (void)endAccount(**acct, "its ticket " + l.ticket + " ended (lease " + l.id + " " +
                                 store::toString(state) + ")");
  }
}

}  // namespace jitb::acme
