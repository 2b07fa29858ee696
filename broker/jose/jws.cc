#include "broker/jose/jws.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include <boost/json.hpp>

#include "broker/jose/ossl.h"

namespace jitb::jose {

namespace json = boost::json;

namespace {

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG, ECDSA_SIG_free>>;

bool isP256(EVP_PKEY* key) {
  char group[64] = {0};
  size_t len = 0;
  return EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        &len) == 1 &&
         std::string_view(group, len) == "prime256v1";
}

}  // namespace

std::optional<Alg> algFromName(std::string_view n) {
  if (n == "RS256") return Alg::kRS256;
  if (n == "ES256") return Alg::kES256;
  if (n == "EdDSA") return Alg::kEdDSA;
  return std::nullopt;
}

const char* algName(Alg a) {
  switch (a) {
    case Alg::kRS256: return "RS256";
    case Alg::kES256: return "ES256";
    case Alg::kEdDSA: return "EdDSA";
  }
  return "?";
}

bool keyFitsAlg(EVP_PKEY* key, Alg alg) {
  if (!key) return false;
  switch (alg) {
    case Alg::kRS256: return EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048;
    case Alg::kES256: return EVP_PKEY_is_a(key, "EC") && isP256(key);
    case Alg::kEdDSA: return EVP_PKEY_is_a(key, "ED25519");
  }
  return false;
}

core::StatusOr<Jws> decodeCompact(std::string_view token, size_t max_size) {
  if (token.size() > max_size) return core::invalidArgument("token is too large");
  size_t a = token.find('.');
  size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (a == std::string_view::npos || b == std::string_view::npos ||
      token.find('.', b + 1) != std::string_view::npos)
    return core::invalidArgument("token is not a compact JWS (three parts)");
  auto h = base64urlDecode(token.substr(0, a));
  auto p = base64urlDecode(token.substr(a + 1, b - a - 1));
  auto s = base64urlDecode(token.substr(b + 1));
  if (!h || !p || !s) return core::invalidArgument("token is not valid base64url");
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  json::value hv = json::parse(*h, ec, {}, opts);
  if (ec || !hv.is_object()) return core::invalidArgument("token header is not a JSON object");
  json::value pv = json::parse(*p, ec, {}, opts);
  if (ec || !pv.is_object()) return core::invalidArgument("token payload is not a JSON object");
  return Jws{std::move(hv.as_object()), std::move(pv.as_object()),
             std::string(token.substr(0, b)), std::move(*s)};
}

bool verifySignature(Alg alg, EVP_PKEY* key, std::string_view input, std::string_view sig) {
  if (!keyFitsAlg(key, alg)) return false;
  std::string der;
  if (alg == Alg::kES256) {
    if (sig.size() != 64) return false;
    EcdsaSigPtr es(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
    if (!es || !r || !s || ECDSA_SIG_set0(es.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(es.get(), &out);
    if (len <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    sig = der;
  } else if (alg == Alg::kEdDSA && sig.size() != 64) {
    return false;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md = alg == Alg::kEdDSA ? nullptr : EVP_sha256();
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                          sig.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

core::StatusOr<std::string> sign(Alg alg, EVP_PKEY* key, std::string_view input) {
  auto signer = PreparedSigner::make(alg, key);
  if (!signer.ok()) return signer.status();
  return (*signer)->sign(input);
}

core::StatusOr<std::unique_ptr<PreparedSigner>> PreparedSigner::make(Alg alg, EVP_PKEY* key) {
  if (!keyFitsAlg(key, alg)) return core::internalError("signing key does not fit " + std::string(algName(alg)));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const char* md = alg == Alg::kEdDSA ? nullptr : "SHA256";
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, md, nullptr, nullptr, key, nullptr) != 1 ||
      EVP_PKEY_up_ref(key) != 1)
    return core::internalError("cannot prepare a signing context");
  return std::unique_ptr<PreparedSigner>(new PreparedSigner(alg, PkeyPtr(key), std::move(ctx)));
}

core::StatusOr<std::string> PreparedSigner::sign(std::string_view input) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  size_t len = 0;
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), ctx_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1)
    return core::internalError("signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1)
    return core::internalError("signing failed");
  sig.resize(len);
  if (alg_ != Alg::kES256) return sig;
  // DER ECDSA-Sig-Value -> fixed-width R||S.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  EcdsaSigPtr es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!es) return core::internalError("signing failed");
  std::string raw(64, '\0');
  if (BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), reinterpret_cast<unsigned char*>(raw.data()), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(es.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) != 32)
    return core::internalError("signing failed");
  return raw;
}

}  // namespace jitb::jose
