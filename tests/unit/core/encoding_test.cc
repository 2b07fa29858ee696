#include "broker/core/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace jitb::core {
namespace {

TEST(Sha256, MatchesTheFips180Vectors) {
  // FIPS 180-2 appendix B.1 and B.2, and the empty message.
  EXPECT_EQ(hexEncode(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hexEncode(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hexEncode(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, SameDigestFromManyThreads) {
  // The algorithm is fetched once and shared: concurrent first calls must agree.
  std::vector<std::string> got(8);
  std::vector<std::thread> ts;
  for (size_t i = 0; i < got.size(); ++i) ts.emplace_back([&got, i] { got[i] = sha256("abc"); });
  for (auto& t : ts) t.join();
  for (const auto& g : got) EXPECT_EQ(g, sha256("abc"));
  EXPECT_EQ(got[0].size(), 32u);
}

TEST(Utf8, AcceptsWellFormedTextOnly) {
  EXPECT_TRUE(validUtf8(""));
  EXPECT_TRUE(validUtf8(std::string("a\0b", 3)));
  EXPECT_TRUE(validUtf8("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x91 \xf4\x8f\xbf\xbf"));
  for (const char* bad : {"\x80", "\xc3", "\xc3(", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf",
                          "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
                          "\xe2\x9c", "\xf0\x9f\x94"})
    EXPECT_FALSE(validUtf8(bad)) << hexEncode(bad);
}

TEST(HexEncode, LowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(hexEncode(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
  EXPECT_EQ(hexEncode(""), "");
}

}  // namespace
}  // namespace jitb::core

namespace jitb::core {
namespace {

// RFC 4648 §10's vectors, in both alphabets, and what the one decoder refuses.
TEST(JsonEscape, QuotesBackslashesAndControlCharactersOnly) {
  std::string out = "x";
  appendJsonEscaped(out, std::string("a\"b\\c\n\r\t\x01\x7f/\xc3\xa9") + '\0');
  EXPECT_EQ(out, "xa\\\"b\\\\c\\u000a\\u000d\\u0009\\u0001\x7f/\xc3\xa9\\u0000");
}

TEST(Base64, Rfc4648VectorsInBothAlphabets) {
  const std::pair<const char*, const char*> v[] = {{"", ""},         {"f", "Zg=="},
                                                   {"fo", "Zm8="},   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, b64] : v) {
    EXPECT_EQ(base64Encode(plain), b64);
    EXPECT_EQ(base64Decode(b64), std::optional<std::string>(plain));
    std::string url(b64);
    while (!url.empty() && url.back() == '=') url.pop_back();
    EXPECT_EQ(base64urlEncode(plain), url);
    EXPECT_EQ(base64urlDecode(url), std::optional<std::string>(plain));
  }
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(base64Encode(bytes), "+/+/");
  EXPECT_EQ(base64urlEncode(bytes), "-_-_");
  EXPECT_FALSE(base64Decode("-_-_").has_value());     // the other alphabet
  EXPECT_FALSE(base64urlDecode("+/+/").has_value());
  EXPECT_FALSE(base64urlDecode("Zh").has_value());    // non-zero trailing bits
  EXPECT_FALSE(base64urlDecode("Zm9vY").has_value()); // impossible length
  EXPECT_FALSE(base64Decode(std::string("Zm\0v", 4)).has_value());
}

}  // namespace
}  // namespace jitb::core
