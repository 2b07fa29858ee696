#include "broker/jose/jwks.h"

#include <openssl/core_names.h>

#include <boost/json.hpp>

#include "broker/core/encoding.h"

namespace jitb::jose {

namespace json = boost::json;

namespace {

std::optional<std::string> member(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return std::nullopt;
  return base64urlDecode(v->as_string());
}

PkeyPtr fromParams(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return PkeyPtr(nullptr);
  return PkeyPtr(key);
}

PkeyPtr rsaKey(const json::object& o) {
  auto n = member(o, "n"), e = member(o, "e");
  if (!n || !e || n->size() < 256 || e->empty() || e->size() > 8) return PkeyPtr(nullptr);
  BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr));
  BnPtr be(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn || !be || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, be.get()) != 1)
    return PkeyPtr(nullptr);
  return fromParams("RSA", bld.get());
}

PkeyPtr ecKey(const json::object& o) {
  auto* crv = o.if_contains("crv");
  auto x = member(o, "x"), y = member(o, "y");
  if (!crv || !crv->is_string() || crv->as_string() != "P-256" || !x || !y || x->size() != 32 ||
      y->size() != 32)
    return PkeyPtr(nullptr);
  std::string point = "\x04" + *x + *y;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1)
    return PkeyPtr(nullptr);
  // fromdata checks that the point is on the curve.
  return fromParams("EC", bld.get());
}

PkeyPtr okpKey(const json::object& o) {
  auto* crv = o.if_contains("crv");
  auto x = member(o, "x");
  if (!crv || !crv->is_string() || crv->as_string() != "Ed25519" || !x || x->size() != 32)
    return PkeyPtr(nullptr);
  return PkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                             reinterpret_cast<const unsigned char*>(x->data()), 32));
}

}  // namespace

core::StatusOr<KeySet> KeySet::parse(std::string_view text) {
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec || !v.is_object()) return core::invalidArgument("JWKS is not a JSON object");
  return fromJson(v.as_object());
}

core::StatusOr<KeySet> KeySet::fromJson(const json::object& jwks) {
  auto* keys = jwks.if_contains("keys");
  if (!keys || !keys->is_array()) return core::invalidArgument("JWKS has no \"keys\" array");
  KeySet set;
  for (const auto& k : keys->as_array()) {
    if (!k.is_object()) continue;
    const auto& o = k.as_object();
    auto* kty = o.if_contains("kty");
    if (!kty || !kty->is_string()) continue;
    if (auto* use = o.if_contains("use"); use && use->is_string() && use->as_string() != "sig")
      continue;
    Jwk jwk;
    if (auto* kid = o.if_contains("kid"); kid && kid->is_string()) jwk.kid = kid->as_string();
    if (auto* alg = o.if_contains("alg"); alg && alg->is_string()) {
      jwk.alg = algFromName(alg->as_string());
      if (!jwk.alg) continue;  // an algorithm the broker never accepts
    }
    PkeyPtr key = kty->as_string() == "RSA" ? rsaKey(o)
                  : kty->as_string() == "EC" ? ecKey(o)
                  : kty->as_string() == "OKP" ? okpKey(o)
                                              : PkeyPtr(nullptr);
    if (!key) continue;
    jwk.key = std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
    set.keys_.push_back(std::move(jwk));
  }
  if (set.keys_.empty()) return core::invalidArgument("JWKS holds no usable signing key");
  return set;
}

const Jwk* KeySet::find(std::string_view kid, Alg alg) const {
  const Jwk* only = nullptr;
  size_t fitting = 0;
  for (const auto& k : keys_) {
    if (k.alg && *k.alg != alg) continue;
    if (!keyFitsAlg(k.key.get(), alg)) continue;
    if (!kid.empty() && k.kid == kid) return &k;
    ++fitting;
    only = &k;
  }
  return kid.empty() && fitting == 1 ? only : nullptr;
}

json::object ecPublicJwk(EVP_PKEY* key) {
  unsigned char point[65];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) != 1 ||
      len != 65)
    return {};
  std::string_view p(reinterpret_cast<char*>(point), len);
  return {{"kty", "EC"}, {"crv", "P-256"}, {"x", base64urlEncode(p.substr(1, 32))},
          {"y", base64urlEncode(p.substr(33, 32))}};
}

std::string ecThumbprint(const json::object& jwk) {
  // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
  std::string canon = "{\"crv\":\"" + std::string(jwk.at("crv").as_string()) + "\",\"kty\":\"EC\",\"x\":\"" +
                      std::string(jwk.at("x").as_string()) + "\",\"y\":\"" +
                      std::string(jwk.at("y").as_string()) + "\"}";
  return base64urlEncode(core::sha256(canon));
}

}  // namespace jitb::jose
