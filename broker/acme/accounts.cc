// Accounts (RFC 8555 §7.3): creation with external account binding, update and deactivation,
// key rollover. An account key is found through a row "key:<RFC 7638 thumbprint>".
#include <boost/json.hpp>

#include "broker/acme/signed.h"

namespace jitb::acme {

namespace json = boost::json;
using detail::bodyOf;
using detail::str;

namespace {

std::string keyRowId(const std::string& thumbprint) { return "key:" + thumbprint; }

json::object accountJson(const store::AcmeRow& row, const json::object& body, const std::string& orders) {
  json::object o{{"status", row.status}, {"orders", orders}};
  if (auto* c = body.if_contains("contact")) o["contact"] = *c;
  else o["contact"] = json::array{};
  return o;
}

}  // namespace

Reply AcmeService::newAccount(Signed& s) {
  auto thumb = jose::jwkThumbprint(s.jwk);
  if (!thumb.ok()) return problemReply({400, "badPublicKey", thumb.status().message()});
  // RFC 8555 §7.3.1: a key that already has an account gets that account back.
  auto known = d_.store.getAcme(keyRowId(*thumb));
  if (!known.ok()) return problemReply(problemOf(known.status()));
  if (known->has_value() && (*known)->status == "valid") {
    auto acct = liveAccount((*known)->account);
    if (auto* p = std::get_if<Problem>(&acct)) return problemReply(*p);
    auto& row = std::get<store::AcmeRow>(acct);
    Reply r = jsonReply(200, accountJson(row, bodyOf(row), url("/account/" + row.id + "/orders")));
    r.headers.emplace_back("Location", url("/account/" + row.id));
    return r;
  }
  if (auto* only = s.payload.if_contains("onlyReturnExisting"); only && only->is_bool() && only->as_bool())
    return problemReply({400, "accountDoesNotExist", "no account has this key"});
  const json::value* eab = s.payload.if_contains("externalAccountBinding");
  if (!eab)
    return problemReply({400, "externalAccountRequired",
                         "an externalAccountBinding is required: get one with POST /v1/acme/eab"});
  auto binding = jose::decodeFlattened(*eab);
  if (!binding.ok()) return problemReply(malformed("externalAccountBinding: " + binding.status().message()));
  const json::object& h = binding->header;
  if (str(h, "alg") != "HS256")
    return problemReply(malformed("externalAccountBinding must be signed with HS256"));
  if (str(h, "url") != url("/new-account"))
    return problemReply(unauthorized("externalAccountBinding's url is not the newAccount URL"));
  json::error_code ec;
  json::value bound = json::parse(binding->payload, ec);
  if (ec || !bound.is_object() || bound.as_object() != s.jwk)
    return problemReply(malformed("externalAccountBinding does not bind this account's key"));
  const std::string kid = str(h, "kid");
  auto row = kid.empty() ? core::StatusOr<std::optional<store::AcmeRow>>(std::optional<store::AcmeRow>())
                         : d_.store.getAcme(kid);
  if (!row.ok()) return problemReply(problemOf(row.status()));
  if (!row->has_value() || (*row)->kind != "eab")
    return problemReply(unauthorized("externalAccountBinding names an unknown key id"));
  store::AcmeRow eab_row = std::move(**row);
  json::object eab_body = bodyOf(eab_row);
  auto mac_key = core::base64urlDecode(str(eab_body, "hmac_key"));
  if (!mac_key || !jose::verifyHs256(*mac_key, binding->signing_input, binding->signature))
    return problemReply(unauthorized("externalAccountBinding's MAC does not verify"));
  if (eab_row.status != "pending")
    return problemReply(unauthorized("this external account binding key was used already"));
  auto lease = d_.store.getLease(str(eab_body, "lease_id"));
  if (!lease.ok()) return problemReply(problemOf(lease.status()));
  if (!lease->has_value() || (*lease)->state != store::LeaseState::kActive)
    return problemReply(unauthorized("the ticket behind this key is closed or its window is over"));

  const std::string id = detail::newId("acct_");
  store::AcmeRow used = eab_row;
  used.status = "used";
  used.account = id;
  used.updated_at = nowMs();
  // Single use across replicas: only the writer that still finds it pending goes on.
  auto won = d_.store.updateAcme(used, "pending");
  if (!won.ok()) return problemReply(problemOf(won.status()));
  if (!*won) return problemReply(unauthorized("this external account binding key was used already"));
  json::object body{{"key", s.jwk},
                    {"thumbprint", *thumb},
                    {"eab_kid", kid},
                    {"lease_id", eab_body["lease_id"]},
                    {"grant", eab_body["grant"]},
                    {"dns_names", eab_body["dns_names"]},
                    {"caller", eab_body["caller"]}};
  if (auto* c = s.payload.if_contains("contact"); c && c->is_array()) body["contact"] = *c;
  store::AcmeRow acct{id, "account", id, eab_row.ticket, "valid", json::serialize(body), nowMs()};
  if (core::Status st = d_.store.insertAcme(acct); !st.ok()) return problemReply(problemOf(st));
  core::Status st = d_.store.insertAcme({keyRowId(*thumb), "acctkey", id, eab_row.ticket, "valid",
                                         "{}", nowMs()});
  if (!st.ok() && st.code() != core::Code::kConflict) return problemReply(problemOf(st));
  if (!st.ok()) {
    // The key's row is a replaced key's: point it at this account.
    if (auto w = d_.store.updateAcme({keyRowId(*thumb), "acctkey", id, eab_row.ticket, "valid",
                                      "{}", nowMs()}, "replaced");
        !w.ok() || !*w)
      return problemReply({409, "malformed", "this key belongs to another account"});
  }
  Reply r = jsonReply(201, accountJson(acct, body, url("/account/" + id + "/orders")));
  r.headers.emplace_back("Location", url("/account/" + id));
  return r;
}

Reply AcmeService::account(Signed& s, const std::string& id) {
  if (s.account->id != id) return problemReply(unauthorized("the kid is not this account"));
  store::AcmeRow row = *s.account;
  json::object& body = s.account_body;
  bool changed = false;
  if (auto* c = s.payload.if_contains("contact")) {
    if (!c->is_array()) return problemReply(malformed("contact must be an array"));
    body["contact"] = *c;
    changed = true;
  }
  if (auto* st = s.payload.if_contains("status")) {
    if (!st->is_string() || st->as_string() != "deactivated")
      return problemReply(malformed("an account's status can only change to deactivated"));
    row.status = "deactivated";
    changed = true;
  }
  if (changed) {
    row.body = json::serialize(body);
    row.updated_at = nowMs();
    auto w = d_.store.updateAcme(row, "valid");
    if (!w.ok()) return problemReply(problemOf(w.status()));
    if (!*w) return problemReply(unauthorized("the account changed meanwhile"));
  }
  Reply r = jsonReply(200, accountJson(row, body, url("/account/" + id + "/orders")));
  r.headers.emplace_back("Location", url("/account/" + id));
  return r;
}

// RFC 8555 §7.3.5: the payload is a JWS by the new key over {account, oldKey}.
Reply AcmeService::keyChange(Signed& s) {
  auto inner = jose::decodeFlattened(json::value(s.payload));
  if (!inner.ok()) return problemReply(malformed("keyChange payload: " + inner.status().message()));
  const json::object& h = inner->header;
  auto alg = jose::algFromName(str(h, "alg"));
  if (!alg) return problemReply({400, "badSignatureAlgorithm", "the inner JWS alg must be ES256, RS256 or EdDSA"});
  if (str(h, "url") != url("/key-change"))
    return problemReply(malformed("the inner JWS url must be the keyChange URL"));
  const json::value* jwk = h.if_contains("jwk");
  if (!jwk || !jwk->is_object() || h.contains("kid"))
    return problemReply(malformed("the inner JWS must carry the new key as jwk"));
  auto key = jose::publicKeyOfJwk(jwk->as_object());
  if (!key.ok()) return problemReply({400, "badPublicKey", key.status().message()});
  if (!jose::verifySignature(*alg, key->get(), inner->signing_input, inner->signature))
    return problemReply(malformed("the inner JWS signature does not verify"));
  json::error_code ec;
  json::value p = json::parse(inner->payload, ec);
  if (ec || !p.is_object()) return problemReply(malformed("the inner JWS payload is not a JSON object"));
  const json::object& po = p.as_object();
  if (str(po, "account") != url("/account/" + s.account->id))
    return problemReply(malformed("the inner payload's account is not the signer's"));
  const json::value* old = po.if_contains("oldKey");
  if (!old || !old->is_object() || old->as_object() != s.jwk)
    return problemReply(malformed("the inner payload's oldKey is not the account's key"));
  auto new_thumb = jose::jwkThumbprint(jwk->as_object());
  auto old_thumb = jose::jwkThumbprint(s.jwk);
  if (!new_thumb.ok() || !old_thumb.ok()) return problemReply({400, "badPublicKey", "unusable key"});
  const std::string& acct = s.account->id;
  core::Status st = d_.store.insertAcme(
      {keyRowId(*new_thumb), "acctkey", acct, s.account->ticket, "valid", "{}", nowMs()});
  if (st.code() == core::Code::kConflict) {
    Problem p409{409, "malformed", "the new key belongs to an account already"};
    Reply r = problemReply(p409);
    return r;
  }
  if (!st.ok()) return problemReply(problemOf(st));
  store::AcmeRow row = *s.account;
  s.account_body["key"] = jwk->as_object();
  s.account_body["thumbprint"] = *new_thumb;
  row.body = json::serialize(s.account_body);
  row.updated_at = nowMs();
  auto w = d_.store.updateAcme(row, "valid");
  if (!w.ok()) return problemReply(problemOf(w.status()));
  if (!*w) return problemReply(unauthorized("the account changed meanwhile"));
  (void)d_.store.updateAcme({keyRowId(*old_thumb), "acctkey", acct, row.ticket, "replaced", "{}", nowMs()},
                            "valid");
  Reply r = jsonReply(200, accountJson(row, s.account_body, url("/account/" + acct + "/orders")));
  r.headers.emplace_back("Location", url("/account/" + acct));
  return r;
}

}  // namespace jitb::acme
