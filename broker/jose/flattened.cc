#include "broker/jose/flattened.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>

#include "broker/jose/jwks.h"

namespace jitb::jose {

namespace json = boost::json;

namespace {

std::optional<std::string> stringMember(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

}  // namespace

core::StatusOr<FlattenedJws> decodeFlattened(const json::value& v) {
  if (!v.is_object()) return core::invalidArgument("the JWS is not a JSON object");
  const json::object& o = v.as_object();
  auto prot = stringMember(o, "protected");
  auto payload = stringMember(o, "payload");
  auto sig = stringMember(o, "signature");
  if (!prot || !payload || !sig || o.size() != 3)
    return core::invalidArgument(
        "the JWS must be flattened JSON with exactly protected, payload and signature");
  auto h = base64urlDecode(*prot);
  auto p = base64urlDecode(*payload);
  auto s = base64urlDecode(*sig);
  if (!h || !p || !s) return core::invalidArgument("a JWS member is not valid base64url");
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;
  json::value hv = json::parse(*h, ec, {}, opts);
  if (ec || !hv.is_object()) return core::invalidArgument("the protected header is not a JSON object");
  if (!stringMember(hv.as_object(), "alg"))
    return core::invalidArgument("the protected header has no \"alg\"");
  return FlattenedJws{std::move(hv.as_object()), std::move(*p), *prot + "." + *payload,
                      std::move(*s)};
}

core::StatusOr<FlattenedJws> decodeFlattened(std::string_view text, size_t max_size) {
  if (text.size() > max_size) return core::invalidArgument("the JWS is too large");
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return core::invalidArgument("the body is not JSON");
  return decodeFlattened(v);
}

core::StatusOr<std::shared_ptr<EVP_PKEY>> publicKeyOfJwk(const json::object& jwk) {
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi"})
    if (jwk.contains(priv)) return core::invalidArgument("the JWK holds private key material");
  // The key-set parser already knows every kind of key the broker accepts.
  json::object set{{"keys", json::array{jwk}}};
  auto ks = KeySet::fromJson(set);
  if (!ks.ok() || ks->size() != 1)
    return core::invalidArgument("the JWK is not an RSA (2048 bits or more), P-256 or Ed25519 public key");
  for (Alg a : {Alg::kES256, Alg::kRS256, Alg::kEdDSA})
    if (const Jwk* k = ks->find("", a)) return k->key;
  return core::invalidArgument("the JWK is not usable");
}

core::StatusOr<std::string> jwkThumbprint(const json::object& jwk) {
  auto kty = stringMember(jwk, "kty");
  if (!kty) return core::invalidArgument("the JWK has no \"kty\"");
  std::vector<const char*> names;
  if (*kty == "RSA") names = {"e", "kty", "n"};
  else if (*kty == "EC") names = {"crv", "kty", "x", "y"};
  else if (*kty == "OKP") names = {"crv", "kty", "x"};
  else return core::invalidArgument("the JWK's kty is not RSA, EC or OKP");
  std::string canon = "{";
  for (const char* n : names) {
    auto v = stringMember(jwk, n);
    if (!v) return core::invalidArgument(std::string("the JWK has no \"") + n + "\"");
    if (canon.size() > 1) canon += ',';
    canon += '"';
    canon += n;
    canon += "\":\"";
    core::appendJsonEscaped(canon, *v);
    canon += '"';
  }
  canon += '}';
  return base64urlEncode(core::sha256(canon));
}

std::string hmacSha256(std::string_view key, std::string_view input) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len))
    return {};
  return std::string(reinterpret_cast<char*>(out), len);
}

bool verifyHs256(std::string_view key, std::string_view input, std::string_view mac) {
  std::string want = hmacSha256(key, input);
  return !want.empty() && mac.size() == want.size() &&
         CRYPTO_memcmp(want.data(), mac.data(), want.size()) == 0;
}

}  // namespace jitb::jose
