// Flattened JSON JWS and the JWK helpers ACME uses (broker/jose/flattened.h).
#include "broker/jose/flattened.h"

#include <gtest/gtest.h>

#include "tests/unit/jose/keys.h"

namespace jitb::jose {
namespace {

namespace json = boost::json;
using testing::ecKey;
using testing::edKey;
using testing::publicJwk;
using testing::rsaKey;

json::object withoutKid(json::object jwk) {
  jwk.erase("kid");
  return jwk;
}

std::string flattened(const json::object& header, std::string_view payload, EVP_PKEY* key, Alg alg) {
  std::string p = base64urlEncode(json::serialize(header)), b = base64urlEncode(payload);
  auto sig = sign(alg, key, p + "." + b);
  return json::serialize(json::object{
      {"protected", p}, {"payload", b}, {"signature", base64urlEncode(sig.ok() ? *sig : "")}});
}

TEST(FlattenedJws, EachAcceptedAlgVerifiesWithTheKeyOfItsJwk) {
  struct Case {
    std::shared_ptr<EVP_PKEY> key;
    Alg alg;
  };
  for (const Case& c : {Case{ecKey(), Alg::kES256}, Case{rsaKey(), Alg::kRS256}, Case{edKey(), Alg::kEdDSA}}) {
    json::object jwk = withoutKid(publicJwk(c.key.get(), ""));
    std::string body = flattened({{"alg", algName(c.alg)}, {"jwk", jwk}, {"nonce", "n"}, {"url", "u"}},
                                 R"({"a":1})", c.key.get(), c.alg);
    auto jws = decodeFlattened(body);
    ASSERT_TRUE(jws.ok()) << jws.status().message();
    EXPECT_EQ(jws->payload, R"({"a":1})");
    auto key = publicKeyOfJwk(jwk);
    ASSERT_TRUE(key.ok()) << key.status().message();
    EXPECT_TRUE(verifySignature(c.alg, key->get(), jws->signing_input, jws->signature)) << algName(c.alg);
    // Another key of the same kind does not verify it.
    auto other = publicKeyOfJwk(withoutKid(publicJwk(c.alg == Alg::kES256 ? ecKey().get()
                                                     : c.alg == Alg::kRS256 ? rsaKey().get()
                                                                            : edKey().get(), "")));
    ASSERT_TRUE(other.ok());
    EXPECT_FALSE(verifySignature(c.alg, other->get(), jws->signing_input, jws->signature));
  }
}

TEST(FlattenedJws, MalformedBodiesAreRefusedWithoutACrash) {
  for (std::string_view bad :
       {"", "[]", "{}", R"({"protected":"e30","payload":""})",
        R"({"protected":"e30","payload":"","signature":"","header":{}})",
        R"({"protected":"!!","payload":"","signature":""})",
        R"({"protected":"e30","payload":"","signature":""})",  // {} has no alg
        R"({"protected":1,"payload":"","signature":""})"})
    EXPECT_FALSE(decodeFlattened(bad).ok()) << bad;
  // POST-as-GET: an empty payload is fine.
  auto ok = decodeFlattened(std::string_view(R"({"protected":"eyJhbGciOiJFUzI1NiJ9","payload":"","signature":""})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->payload.empty());
  EXPECT_EQ(ok->signing_input, "eyJhbGciOiJFUzI1NiJ9.");
}

TEST(FlattenedJws, JwksWithPrivateMembersOrWeakKeysAreRefused) {
  json::object ec = withoutKid(publicJwk(ecKey().get(), ""));
  ec["d"] = "AAAA";
  EXPECT_FALSE(publicKeyOfJwk(ec).ok());
  EXPECT_FALSE(publicKeyOfJwk(withoutKid(publicJwk(rsaKey(1024).get(), ""))).ok());
  EXPECT_FALSE(publicKeyOfJwk({{"kty", "oct"}, {"k", "AAAA"}}).ok());
}

// RFC 7638 §3.1's example key and thumbprint.
TEST(FlattenedJws, ThumbprintMatchesTheRfc7638Example) {
  json::object jwk{
      {"kty", "RSA"},
      {"n", "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
            "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
            "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQF"
            "h6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  auto t = jwkThumbprint(jwk);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_FALSE(jwkThumbprint({{"kty", "EC"}, {"crv", "P-256"}, {"x", "a"}}).ok());
}

// RFC 4231 test case 2.
TEST(FlattenedJws, Hs256MatchesRfc4231AndComparesWholeMacs) {
  std::string mac = hmacSha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(core::hexEncode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_TRUE(verifyHs256("Jefe", "what do ya want for nothing?", mac));
  EXPECT_FALSE(verifyHs256("Jefe", "what do ya want for nothing!", mac));
  EXPECT_FALSE(verifyHs256("Jefe", "what do ya want for nothing?", mac.substr(0, 16)));
  EXPECT_FALSE(verifyHs256("Jefe", "what do ya want for nothing?", ""));
}

}  // namespace
}  // namespace jitb::jose
