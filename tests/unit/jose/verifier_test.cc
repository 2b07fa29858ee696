#include "broker/jose/verifier.h"

#include <gtest/gtest.h>

#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "tests/unit/jose/keys.h"

namespace jitb::jose {
namespace {

namespace json = boost::json;
using testing::mint;

const core::TimePoint kNow = std::chrono::system_clock::from_time_t(1795456800);
const int64_t kNowS = 1795456800;
const char* kIss = "https://token.actions.githubusercontent.com";

class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsa_ = testing::rsaKey();
    ec_ = testing::ecKey();
    ed_ = testing::edKey();
    auto set = KeySet::fromJson(
        {{"keys", {testing::publicJwk(rsa_.get(), "r"), testing::publicJwk(ec_.get(), "e"),
                   testing::publicJwk(ed_.get(), "d")}}});
    ASSERT_TRUE(set.ok());
    keys_ = std::make_unique<KeySet>(std::move(*set));
  }
  json::object claims() {
    return {{"iss", kIss},  {"aud", "jitbroker"}, {"sub", "repo:acme/api:ref:refs/heads/main"},
            {"exp", kNowS + 300}, {"nbf", kNowS - 5}, {"iat", kNowS - 5},
            {"repository", "acme/api"}, {"jti", "j1"}};
  }
  std::string token(json::object c, const char* kid = "r", Alg alg = Alg::kRS256,
                    EVP_PKEY* key = nullptr) {
    json::object h{{"alg", algName(alg)}, {"typ", "JWT"}, {"kid", kid}};
    if (!key) key = alg == Alg::kRS256 ? rsa_.get() : alg == Alg::kES256 ? ec_.get() : ed_.get();
    return mint(h, c, key, alg);
  }
  core::StatusOr<VerifiedToken> verify(const std::string& t, core::TimePoint now = kNow) {
    return verifyJwt(t, *keys_, {kIss, "jitbroker"}, now);
  }
  std::string why(const std::string& t, core::TimePoint now = kNow) {
    auto v = verify(t, now);
    EXPECT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), core::Code::kUnauthenticated);
    return v.ok() ? "" : v.status().message();
  }
  std::shared_ptr<EVP_PKEY> rsa_, ec_, ed_;
  std::unique_ptr<KeySet> keys_;
};

TEST_F(VerifierTest, AcceptsEachAllowedAlgorithmAndExposesClaims) {
  for (auto [alg, kid] : {std::pair{Alg::kRS256, "r"}, {Alg::kES256, "e"}, {Alg::kEdDSA, "d"}}) {
    auto v = verify(token(claims(), kid, alg));
    ASSERT_TRUE(v.ok()) << algName(alg) << ": " << v.status().message();
    EXPECT_EQ(v->subject, "repo:acme/api:ref:refs/heads/main");
    EXPECT_EQ(v->claims.at("repository").as_string(), "acme/api");
    EXPECT_EQ(v->expires_at, kNow + std::chrono::seconds(300));
  }
}

TEST_F(VerifierTest, RefusesForgeriesAndWrongKeys) {
  auto other = testing::rsaKey();
  EXPECT_NE(why(token(claims(), "r", Alg::kRS256, other.get())).find("signature"), std::string::npos);
  EXPECT_NE(why(token(claims(), "zz")).find("no trusted key"), std::string::npos);
  std::string t = token(claims());
  t[t.size() - 5] = t[t.size() - 5] == 'A' ? 'B' : 'A';
  why(t);
}

TEST_F(VerifierTest, TimeChecksUseSixtySecondsOfLeeway) {
  json::object c = claims();
  c["exp"] = kNowS - 30;  // expired 30 s ago: within leeway
  EXPECT_TRUE(verify(token(c)).ok());
  c["exp"] = kNowS - 61;
  EXPECT_NE(why(token(c)).find("expired"), std::string::npos);
  c = claims();
  c["nbf"] = kNowS + 120;
  EXPECT_NE(why(token(c)).find("nbf"), std::string::npos);
  c = claims();
  c["iat"] = kNowS + 120;
  EXPECT_NE(why(token(c)).find("iat"), std::string::npos);
  c = claims();
  c.erase("exp");
  EXPECT_NE(why(token(c)).find("exp"), std::string::npos);
  c = claims();
  c["exp"] = static_cast<double>(kNowS) + 10.5;  // fractional NumericDate
  EXPECT_TRUE(verify(token(c)).ok());
}

TEST_F(VerifierTest, IssuerAudienceAndSubject) {
  json::object c = claims();
  c["iss"] = "https://evil.example";
  EXPECT_NE(why(token(c)).find("issuer"), std::string::npos);
  c = claims();
  c["aud"] = "other";
  EXPECT_NE(why(token(c)).find("audience"), std::string::npos);
  c["aud"] = json::array{"other", "jitbroker"};
  EXPECT_TRUE(verify(token(c)).ok());
  c.erase("aud");
  why(token(c));
  c = claims();
  c.erase("sub");
  EXPECT_NE(why(token(c)).find("sub"), std::string::npos);
}

TEST_F(VerifierTest, AlgNoneAndHmacWithThePublicKeyAreRefused) {
  std::string body = base64urlEncode(json::serialize(claims()));
  std::string none = base64urlEncode(R"({"alg":"none","typ":"JWT"})") + "." + body + ".";
  EXPECT_NE(why(none).find("not allowed"), std::string::npos);
  // HS256 keyed with the RSA public key's PEM: the algorithm-confusion attack.
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, rsa_.get());
  char* pem = nullptr;
  long n = BIO_get_mem_data(b, &pem);
  std::string input = base64urlEncode(R"({"alg":"HS256","typ":"JWT","kid":"r"})") + "." + body;
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), pem, static_cast<int>(n), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &len);
  BIO_free(b);
  std::string hs = input + "." + base64urlEncode(std::string_view(reinterpret_cast<char*>(mac), len));
  EXPECT_NE(why(hs).find("not allowed"), std::string::npos);
  // ES256 header on the RSA key's kid.
  EXPECT_NE(why(token(claims(), "r", Alg::kES256)).find("no trusted key"), std::string::npos);
}

TEST_F(VerifierTest, GarbageAndCritAreRefused) {
  for (const char* g : {"", "abc", "a.b.c", "e30.e30.e30"}) why(g);
  json::object h{{"alg", "RS256"}, {"kid", "r"}, {"crit", {"exp"}}};
  EXPECT_NE(why(mint(h, claims(), rsa_.get(), Alg::kRS256)).find("crit"), std::string::npos);
}

TEST(TrustStore, PicksTheEntryByIssuerAndCachesUntilExp) {
  auto key = testing::rsaKey();
  auto set = KeySet::fromJson({{"keys", {testing::publicJwk(key.get(), "k")}}});
  TrustStore trust({{kIss, "jitbroker", std::make_shared<StaticKeySource>(std::move(*set))}});
  json::object c{{"iss", kIss}, {"aud", "jitbroker"}, {"sub", "s"}, {"exp", kNowS + 100}};
  std::string t = mint({{"alg", "RS256"}, {"kid", "k"}}, c, key.get(), Alg::kRS256);
  EXPECT_TRUE(trust.verify(t, kNow).ok());
  EXPECT_TRUE(trust.verify(t, kNow + std::chrono::seconds(50)).ok());  // cached
  // Past exp the cache never answers, and full verification (with leeway) decides.
  EXPECT_FALSE(trust.verify(t, kNow + std::chrono::seconds(200)).ok());
  c["iss"] = "https://unknown";
  std::string u = mint({{"alg", "RS256"}, {"kid", "k"}}, c, key.get(), Alg::kRS256);
  auto r = trust.verify(u, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not trusted"), std::string::npos);
}

TEST(FetchingKeySource, RefetchesOnUnknownKidAtMostOncePerMinute) {
  auto k1 = testing::rsaKey(), k2 = testing::rsaKey();
  int fetches = 0;
  std::string served = json::serialize(json::object{{"keys", {testing::publicJwk(k1.get(), "k1")}}});
  auto src = std::make_shared<FetchingKeySource>("https://idp/jwks", [&](const std::string&) {
    ++fetches;
    return core::StatusOr<std::string>(served);
  });
  TrustStore trust({{kIss, "jitbroker", src}}, 0);
  json::object c{{"iss", kIss}, {"aud", "jitbroker"}, {"sub", "s"}, {"exp", kNowS + 1000}};
  std::string t1 = mint({{"alg", "RS256"}, {"kid", "k1"}}, c, k1.get(), Alg::kRS256);
  std::string t2 = mint({{"alg", "RS256"}, {"kid", "k2"}}, c, k2.get(), Alg::kRS256);
  EXPECT_TRUE(trust.verify(t1, kNow).ok());  // first use fetches
  EXPECT_EQ(fetches, 1);
  served = json::serialize(json::object{{"keys", {testing::publicJwk(k1.get(), "k1"),
                                                  testing::publicJwk(k2.get(), "k2")}}});
  EXPECT_FALSE(trust.verify(t2, kNow + std::chrono::seconds(10)).ok());  // rate-limited
  EXPECT_EQ(fetches, 1);
  EXPECT_TRUE(trust.verify(t2, kNow + std::chrono::seconds(61)).ok());  // rotated key found
  EXPECT_EQ(fetches, 2);
  served = "not json";
  EXPECT_TRUE(trust.verify(t1, kNow + std::chrono::seconds(200)).ok());  // last good set kept
}

}  // namespace
}  // namespace jitb::jose
