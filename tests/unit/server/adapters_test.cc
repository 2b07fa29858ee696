// The issuing port for the broker's own tokens over a mock signer: signing is the signer's,
// checking uses its published keys and leaves liveness to the lease.
#include "broker/server/adapters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_token_signer.h"
#include "tests/unit/jose/keys.h"

namespace jitb::server {
namespace {

using ::testing::Return;
using ::testing::StrictMock;

constexpr char kIssuer[] = "https://broker.test";

class SignerTokenServiceTest : public ::testing::Test {
 protected:
  int64_t nowS() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  }
  // The mock's published keys: one EC key, kid "k1".
  std::shared_ptr<const jose::KeySet> keys() {
    auto set = jose::KeySet::fromJson({{"keys", {jose::testing::publicJwk(key_.get(), "k1")}}});
    EXPECT_TRUE(set.ok());
    return std::make_shared<const jose::KeySet>(std::move(*set));
  }
  std::string token(const std::string& iss, int64_t exp) {
    return jose::testing::mint({{"alg", "ES256"}, {"typ", "JWT"}, {"kid", "k1"}},
                               {{"iss", iss}, {"sub", "ci"}, {"jti", "j-1"}, {"iat", exp - 600},
                                {"exp", exp}},
                               key_.get(), jose::Alg::kES256);
  }

  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
  std::shared_ptr<EVP_PKEY> key_ = jose::testing::ecKey();
  StrictMock<testing::MockTokenSigner> signer_;
  SignerTokenService tokens_{signer_, kIssuer, clock_};
};

TEST_F(SignerTokenServiceTest, SignIsTheSignersAnswerSuccessOrFailure) {
  const boost::json::object claims{{"sub", "ci"}, {"jti", "j-1"}};
  EXPECT_CALL(signer_, sign(claims))
      .WillOnce(Return(std::string("h.p.s")))
      .WillOnce(Return(core::internalError("signing key unreadable")));
  EXPECT_EQ(*tokens_.sign(claims), "h.p.s");
  EXPECT_EQ(tokens_.sign(claims).status().code(), core::Code::kInternal);
}

TEST_F(SignerTokenServiceTest, WithoutPublishedKeysNothingVerifies) {
  EXPECT_CALL(signer_, keySet()).WillOnce(Return(nullptr));
  EXPECT_EQ(tokens_.verify(token(kIssuer, nowS() + 600)).status().code(),
            core::Code::kUnauthenticated);
}

TEST_F(SignerTokenServiceTest, AnExpiredTokenOfOursIsStillRecognisedAnotherIssuersIsNot) {
  EXPECT_CALL(signer_, keySet()).Times(3).WillRepeatedly(Return(keys()));
  auto expired = tokens_.verify(token(kIssuer, nowS() - 3600));
  ASSERT_TRUE(expired.ok()) << expired.status().message();
  EXPECT_EQ(expired->at("jti").as_string(), "j-1");
  EXPECT_EQ(tokens_.verify(token("https://other.test", nowS() + 600)).status().code(),
            core::Code::kUnauthenticated);
  std::string tampered = token(kIssuer, nowS() + 600);
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(tokens_.verify(tampered).status().code(), core::Code::kUnauthenticated);
}

}  // namespace
}  // namespace jitb::server
