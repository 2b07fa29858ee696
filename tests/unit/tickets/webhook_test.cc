#include "broker/tickets/webhook.h"

#include <gtest/gtest.h>

namespace jitb::tickets {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";
const core::TimePoint kNow = std::chrono::system_clock::from_time_t(1795456800);
const int64_t kNowS = 1795456800;

TEST(Webhook, AcceptsItsOwnSignature) {
  std::string body = R"({"ticket":{}})";
  EXPECT_TRUE(verifySignature(signBody(body, kSecret, kNowS), body, kSecret, kNow).ok());
}

TEST(Webhook, KnownVector) {
  // HMAC-SHA256("0123456789abcdef0123456789abcdef", "1795456800.{}") computed with
  // `openssl dgst -sha256 -hmac`.
  EXPECT_EQ(signBody("{}", kSecret, kNowS),
            "t=1795456800,v1=0eddef027b3db0c081fb2c881ef9ebff218f8c1356967681e629c1146bb467a0");
}

TEST(Webhook, RefusesTamperingWrongSecretAndStaleOrFutureTimes) {
  std::string body = R"({"ticket":{"id":"A"}})";
  std::string h = signBody(body, kSecret, kNowS);
  auto code = [&](const std::string& hdr, const std::string& b, const std::string& secret,
                  core::TimePoint now) {
    return verifySignature(hdr, b, secret, now).code();
  };
  using core::Code;
  EXPECT_EQ(code(h, body + " ", kSecret, kNow), Code::kUnauthenticated);
  EXPECT_EQ(code(h, body, kSecret + "x", kNow), Code::kUnauthenticated);
  EXPECT_EQ(code(h, body, kSecret, kNow + std::chrono::hours(1)), Code::kUnauthenticated);
  EXPECT_EQ(code(h, body, kSecret, kNow - std::chrono::seconds(301)), Code::kUnauthenticated);
  EXPECT_EQ(code(h, body, kSecret, kNow + std::chrono::seconds(299)), Code::kOk);
  EXPECT_EQ(code("", body, kSecret, kNow), Code::kUnauthenticated);
  EXPECT_EQ(code("t=abc,v1=00", body, kSecret, kNow), Code::kUnauthenticated);
  EXPECT_EQ(code("v1=" + h.substr(h.find("v1=") + 3), body, kSecret, kNow),
            Code::kUnauthenticated);  // no t
  // A signature made for another timestamp does not carry over.
  std::string other = signBody(body, kSecret, kNowS - 10);
  std::string spliced = "t=" + std::to_string(kNowS) + other.substr(other.find(','));
  EXPECT_EQ(code(spliced, body, kSecret, kNow), Code::kUnauthenticated);
}

TEST(Webhook, AnyOfSeveralSignaturesMayMatchForSecretRotation) {
  std::string body = "{}";
  std::string good = signBody(body, kSecret, kNowS);
  std::string old = signBody(body, "an-old-secret-that-was-rotated-out", kNowS);
  std::string hdr = old + "," + good.substr(good.find("v1="));
  EXPECT_TRUE(verifySignature(hdr, body, kSecret, kNow).ok());
}

}  // namespace
}  // namespace jitb::tickets
