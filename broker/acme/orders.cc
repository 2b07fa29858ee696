// Orders, authorizations and http-01 challenges (RFC 8555 §7.4-7.5, §8.3). One authorization,
// with one http-01 challenge (same id), per name; an order is ready once all are valid.
#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "broker/acme/signed.h"
#include "broker/core/files.h"

namespace jitb::acme {

namespace json = boost::json;
using detail::bodyOf;
using detail::str;

namespace {
constexpr int64_t kAuthzLifeMs = 3600 * 1000;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}
}  // namespace

Reply AcmeService::newOrder(Signed& s) {
  const json::value* ids = s.payload.if_contains("identifiers");
  if (!ids || !ids->is_array() || ids->as_array().empty() || ids->as_array().size() > 100)
    return problemReply(malformed("identifiers must be a non-empty array (at most 100)"));
  std::set<std::string> allowed;
  if (auto* names = s.account_body.if_contains("dns_names"); names && names->is_array())
    for (const auto& n : names->as_array())
      if (n.is_string()) allowed.insert(lower(std::string(n.as_string())));
  std::vector<std::string> names;
  for (const auto& v : ids->as_array()) {
    if (!v.is_object() || str(v.as_object(), "type") != "dns")
      return problemReply({400, "unsupportedIdentifier", "only dns identifiers are supported"});
    std::string name = lower(str(v.as_object(), "value"));
    if (!allowed.count(name))
      return problemReply({400, "rejectedIdentifier",
                           "the grant " + str(s.account_body, "grant") + " does not allow the name '" +
                               name.substr(0, 253) + "'"});
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  const std::string acct = s.account->id;
  const int64_t now = nowMs();
  // An order lives no longer than its account's lease: the ticket's window bounds it.
  int64_t expires = now + kAuthzLifeMs;
  if (auto lease = d_.store.getLease(str(s.account_body, "lease_id")); lease.ok() && lease->has_value())
    expires = std::min(expires, (*lease)->expires_at);
  json::array authz_ids, identifiers;
  for (const auto& name : names) {
    unsigned char tok[32];
    core::randomBytes(tok, sizeof tok);
    json::object body{{"identifier", json::object{{"type", "dns"}, {"value", name}}},
                      {"token", core::base64urlEncode(std::string_view(reinterpret_cast<char*>(tok), 32))},
                      {"expires", expires},
                      {"challenge", "pending"}};
    store::AcmeRow authz{detail::newId("authz_"), "authz", acct, s.account->ticket, "pending",
                         json::serialize(body), now};
    if (core::Status st = d_.store.insertAcme(authz); !st.ok()) return problemReply(problemOf(st));
    authz_ids.emplace_back(authz.id);
    identifiers.emplace_back(json::object{{"type", "dns"}, {"value", name}});
  }
  json::object body{{"identifiers", std::move(identifiers)},
                    {"authorizations", std::move(authz_ids)},
                    {"expires", expires}};
  store::AcmeRow order{detail::newId("order_"), "order", acct, s.account->ticket, "pending",
                       json::serialize(body), now};
  if (core::Status st = d_.store.insertAcme(order); !st.ok()) return problemReply(problemOf(st));
  Reply r = jsonReply(201, orderJson(order));
  r.headers.emplace_back("Location", url("/order/" + order.id));
  return r;
}

std::variant<store::AcmeRow, Problem> AcmeService::loadOrder(const std::string& account,
                                                             const std::string& id) {
  auto row = d_.store.getAcme(id);
  if (!row.ok()) return problemOf(row.status());
  if (!row->has_value() || (*row)->kind != "order" || (*row)->account != account)
    return notFound("no such order");
  store::AcmeRow order = std::move(**row);
  if (order.status != "pending" && order.status != "ready") return order;
  json::object body = bodyOf(order);
  std::string next = order.status;
  if (auto* e = body.if_contains("expires"); e && e->is_int64() && e->as_int64() < nowMs()) {
    next = "invalid";
  } else if (order.status == "pending") {
    bool all_valid = true, any_invalid = false;
    if (auto* az = body.if_contains("authorizations"); az && az->is_array())
      for (const auto& a : az->as_array()) {
        auto ar = d_.store.getAcme(a.is_string() ? std::string(a.as_string()) : std::string());
        if (!ar.ok()) return problemOf(ar.status());
        std::string st = ar->has_value() ? (*ar)->status : "invalid";
        all_valid = all_valid && st == "valid";
        any_invalid = any_invalid || st == "invalid";
      }
    next = any_invalid ? "invalid" : all_valid ? "ready" : "pending";
  }
  if (next == order.status) return order;
  std::string was = order.status;
  order.status = next;
  order.updated_at = nowMs();
  auto w = d_.store.updateAcme(order, was);
  if (!w.ok()) return problemOf(w.status());
  if (!*w) return loadOrder(account, id);  // another request moved it on: read that
  return order;
}

json::object AcmeService::orderJson(const store::AcmeRow& order) const {
  json::object body = bodyOf(order);
  json::array authz;
  if (auto* az = body.if_contains("authorizations"); az && az->is_array())
    for (const auto& a : az->as_array())
      if (a.is_string()) authz.emplace_back(url("/authz/" + std::string(a.as_string())));
  json::object o{{"status", order.status},
                 {"identifiers", body["identifiers"]},
                 {"authorizations", std::move(authz)},
                 {"finalize", url("/order/" + order.id + "/finalize")}};
  if (auto* e = body.if_contains("expires"); e && e->is_int64()) o["expires"] = detail::rfc3339(e->as_int64());
  if (order.status == "valid") o["certificate"] = url("/cert/" + order.id);
  if (auto* err = body.if_contains("error")) o["error"] = *err;
  return o;
}

Reply AcmeService::order(Signed& s, const std::string& id) {
  auto o = loadOrder(s.account->id, id);
  if (auto* p = std::get_if<Problem>(&o)) return problemReply(*p);
  auto& row = std::get<store::AcmeRow>(o);
  Reply r = jsonReply(200, orderJson(row));
  r.headers.emplace_back("Location", url("/order/" + id));
  return r;
}

json::object AcmeService::authzJson(const store::AcmeRow& authz) const {
  json::object body = bodyOf(authz);
  json::object ch{{"type", "http-01"},
                  {"url", url("/chall/" + authz.id)},
                  {"token", body["token"]},
                  {"status", body["challenge"]}};
  if (auto* v = body.if_contains("validated"); v && v->is_int64()) ch["validated"] = detail::rfc3339(v->as_int64());
  if (auto* e = body.if_contains("error")) ch["error"] = *e;
  json::object o{{"status", authz.status},
                 {"identifier", body["identifier"]},
                 {"challenges", json::array{std::move(ch)}}};
  if (auto* e = body.if_contains("expires"); e && e->is_int64()) o["expires"] = detail::rfc3339(e->as_int64());
  return o;
}

Reply AcmeService::authz(Signed& s, const std::string& id) {
  auto row = d_.store.getAcme(id);
  if (!row.ok()) return problemReply(problemOf(row.status()));
  if (!row->has_value() || (*row)->kind != "authz" || (*row)->account != s.account->id)
    return problemReply(notFound("no such authorization"));
  store::AcmeRow a = std::move(**row);
  if (a.status == "pending") {
    // The body is a copy: a pointer into bodyOf(a)'s temporary would dangle past this line.
    const json::object body = bodyOf(a);
    if (auto* e = body.if_contains("expires"); e && e->is_int64() && e->as_int64() < nowMs()) {
      store::AcmeRow expired = a;
      expired.status = "expired";
      if (auto w = d_.store.updateAcme(expired, "pending"); w.ok() && *w) a = expired;
    }
  }
  return jsonReply(200, authzJson(a));
}

Reply AcmeService::challenge(Signed& s, const std::string& id) {
  auto row = d_.store.getAcme(id);
  if (!row.ok()) return problemReply(problemOf(row.status()));
  if (!row->has_value() || (*row)->kind != "authz" || (*row)->account != s.account->id)
    return problemReply(notFound("no such challenge"));
  store::AcmeRow a = std::move(**row);
  auto challengeReply = [&](const store::AcmeRow& authz) {
    json::object o = authzJson(authz);
    Reply r = jsonReply(200, o["challenges"].as_array()[0].as_object());
    r.headers.emplace_back("Link", "<" + url("/authz/" + id) + ">;rel=\"up\"");
    return r;
  };
  if (a.status != "pending") return challengeReply(a);
  json::object body = bodyOf(a);
  const json::value& ident = body["identifier"];
  const std::string name = ident.is_object() ? str(ident.as_object(), "value") : std::string();
  const std::string token = str(body, "token");
  // RFC 8555 §8.1: the key authorization is the token and the account key's thumbprint.
  const std::string expected = token + "." + str(s.account_body, "thumbprint");
  auto got = d_.http01.fetch(name, token);
  store::AcmeRow next = a;
  if (got.ok() && trim(*got) == expected) {
    next.status = "valid";
    body["challenge"] = "valid";
    body["validated"] = nowMs();
  } else {
    next.status = "invalid";
    body["challenge"] = "invalid";
    body["error"] = json::object{
        {"type", std::string("urn:ietf:params:acme:error:") + (got.ok() ? "incorrectResponse" : "connection")},
        {"detail", got.ok() ? "the response at " + name + " is not the key authorization"
                            : got.status().message()},
        {"status", 403}};
  }
  next.body = json::serialize(body);
  next.updated_at = nowMs();
  auto w = d_.store.updateAcme(next, "pending");
  if (!w.ok()) return problemReply(problemOf(w.status()));
  if (!*w) {
    auto again = d_.store.getAcme(id);
    if (!again.ok() || !again->has_value()) return problemReply(notFound("no such challenge"));
    return challengeReply(**again);
  }
  return challengeReply(next);
}

}  // namespace jitb::acme
