#include "broker/jose/jws.h"

#include <gtest/gtest.h>

#include <openssl/x509.h>

#include <thread>

#include "broker/jose/jwks.h"
#include "tests/unit/jose/keys.h"

namespace jitb::jose {
namespace {

TEST(Base64url, RoundTripsEveryLengthWithoutPadding) {
  std::string data;
  for (int i = 0; i < 64; ++i) {
    std::string enc = base64urlEncode(data);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(enc.find_first_of("+/"), std::string::npos);
    auto dec = base64urlDecode(enc);
    ASSERT_TRUE(dec) << i;
    EXPECT_EQ(*dec, data);
    data += static_cast<char>(i * 37 + 250);
  }
  EXPECT_EQ(base64urlEncode("hello"), "aGVsbG8");
}

TEST(Base64url, RefusesForeignCharactersAndImpossibleLengths) {
  EXPECT_FALSE(base64urlDecode("a+b/"));
  EXPECT_FALSE(base64urlDecode("abcde"));
  EXPECT_FALSE(base64urlDecode("ab c"));
  EXPECT_FALSE(base64urlDecode("aGVsbG9"));  // non-canonical trailing bits
  EXPECT_TRUE(base64urlDecode("aGVsbG8"));
}

TEST(Jws, SignAndVerifyEachAlgorithmAndRefuseAnyChange) {
  struct Case {
    Alg alg;
    std::shared_ptr<EVP_PKEY> key;
  } cases[] = {{Alg::kRS256, testing::rsaKey()}, {Alg::kES256, testing::ecKey()},
               {Alg::kEdDSA, testing::edKey()}};
  for (auto& c : cases) {
    auto sig = sign(c.alg, c.key.get(), "header.payload");
    ASSERT_TRUE(sig.ok()) << algName(c.alg);
    if (c.alg != Alg::kRS256) {
      EXPECT_EQ(sig->size(), 64u);  // raw R||S for ES256
    }
    EXPECT_TRUE(verifySignature(c.alg, c.key.get(), "header.payload", *sig));
    EXPECT_FALSE(verifySignature(c.alg, c.key.get(), "header.payloaD", *sig));
    std::string bad = *sig;
    bad[bad.size() / 2] ^= 1;
    EXPECT_FALSE(verifySignature(c.alg, c.key.get(), "header.payload", bad));
  }
}

// One prepared context, copied per signature, from several threads at once: every signature
// verifies, signatures differ (ECDSA's k is fresh each time), and the context outlives the
// caller's reference to the key.
TEST(Jws, PreparedSignerSignsConcurrentlyAndKeepsItsKey) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA, Alg::kRS256}) {
    auto key = alg == Alg::kES256 ? testing::ecKey() : alg == Alg::kEdDSA ? testing::edKey() : testing::rsaKey();
    auto made = PreparedSigner::make(alg, key.get());
    ASSERT_TRUE(made.ok()) << algName(alg);
    std::shared_ptr<const PreparedSigner> signer = std::move(*made);
    // Only the public half stays here; the signer must hold its own reference to the key.
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key.get(), &der);
    const unsigned char* p = der;
    std::shared_ptr<EVP_PKEY> verify_key(d2i_PUBKEY(nullptr, &p, n), EVP_PKEY_free);
    OPENSSL_free(der);
    ASSERT_TRUE(verify_key);
    key.reset();
    std::vector<std::string> sigs(4 * 25);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          auto sig = signer->sign("input-" + std::to_string(t));
          if (sig.ok()) sigs[t * 25 + i] = *sig;
        }
      });
    for (auto& t : ts) t.join();
    for (size_t i = 0; i < sigs.size(); ++i)
      ASSERT_TRUE(verifySignature(alg, verify_key.get(), "input-" + std::to_string(i / 25), sigs[i]))
          << algName(alg) << " " << i;
    if (alg == Alg::kES256) {
      EXPECT_NE(sigs[0], sigs[1]);
    }
  }
  auto ec = testing::ecKey();
  EXPECT_FALSE(PreparedSigner::make(Alg::kEdDSA, ec.get()).ok());  // the key must fit
}

TEST(Jws, AlgorithmMustFitTheKey) {
  auto rsa = testing::rsaKey(), ec = testing::ecKey(), ed = testing::edKey();
  auto small = testing::rsaKey(1024);
  EXPECT_TRUE(keyFitsAlg(rsa.get(), Alg::kRS256));
  EXPECT_FALSE(keyFitsAlg(small.get(), Alg::kRS256));
  EXPECT_FALSE(keyFitsAlg(rsa.get(), Alg::kES256));
  EXPECT_FALSE(keyFitsAlg(ec.get(), Alg::kEdDSA));
  EXPECT_FALSE(keyFitsAlg(ed.get(), Alg::kRS256));
  auto sig = sign(Alg::kES256, ec.get(), "x");
  EXPECT_FALSE(verifySignature(Alg::kEdDSA, ec.get(), "x", *sig));
  EXPECT_FALSE(algFromName("none"));
  EXPECT_FALSE(algFromName("HS256"));
  EXPECT_FALSE(algFromName("PS256"));
}

TEST(Jws, DecodeRefusesMalformedTokens) {
  for (const char* bad : {"", "a", "a.b", "a.b.c.d", "!!.e30.", "e30.W10.", "W10.e30.", "e30.e30.*"})
    EXPECT_FALSE(decodeCompact(bad).ok()) << bad;
  EXPECT_TRUE(decodeCompact("e30.e30.").ok());  // {} . {} . empty signature
  EXPECT_FALSE(decodeCompact(std::string(20000, 'a')).ok());
}

TEST(Jwks, ParsesUsableKeysAndSkipsTheRest) {
  auto rsa = testing::rsaKey(), ec = testing::ecKey(), ed = testing::edKey();
  auto small = testing::rsaKey(1024);
  boost::json::object enc = testing::publicJwk(ec.get(), "enc");
  enc["use"] = "enc";
  boost::json::object shortx = testing::publicJwk(ec.get(), "short");
  shortx["x"] = base64urlEncode(std::string(31, 'a'));
  boost::json::object hs = {{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}};
  boost::json::object jwks{{"keys",
                            {testing::publicJwk(rsa.get(), "r"), testing::publicJwk(ec.get(), "e"),
                             testing::publicJwk(ed.get(), "d"), testing::publicJwk(small.get(), "s"),
                             enc, shortx, hs}}};
  auto set = KeySet::fromJson(jwks);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->size(), 3u);
  EXPECT_NE(set->find("r", Alg::kRS256), nullptr);
  EXPECT_EQ(set->find("r", Alg::kES256), nullptr);
  EXPECT_EQ(set->find("s", Alg::kRS256), nullptr);
  EXPECT_EQ(set->find("hmac", Alg::kRS256), nullptr);
  EXPECT_FALSE(KeySet::parse(R"({"keys":[]})").ok());
  EXPECT_FALSE(KeySet::parse("[]").ok());
  EXPECT_FALSE(KeySet::parse("{").ok());
}

TEST(Jwks, EcThumbprintMatchesRfc7638Example) {
  // The expected value is SHA-256 over the RFC 7638 canonical form
  // {"crv":..,"kty":"EC","x":..,"y":..}, computed independently with Python's hashlib.
  boost::json::object jwk{{"kty", "EC"}, {"crv", "P-256"},
                          {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                          {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
  EXPECT_EQ(ecThumbprint(jwk), "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
  boost::json::object same = jwk;
  same["kid"] = "ignored";
  EXPECT_EQ(ecThumbprint(same), ecThumbprint(jwk));
}

}  // namespace
}  // namespace jitb::jose
