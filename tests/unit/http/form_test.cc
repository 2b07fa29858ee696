#include "broker/http/form.h"

#include <gtest/gtest.h>

namespace jitb::http {
namespace {

TEST(Form, DecodesPercentAndPlus) {
  auto f = parseForm("grant_type=urn%3Aietf%3Aparams&scope=a+b&plus=%2B&empty=&flag");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)["grant_type"], "urn:ietf:params");
  EXPECT_EQ((*f)["scope"], "a b");
  EXPECT_EQ((*f)["plus"], "+");
  EXPECT_EQ(f->count("empty"), 1u);
  EXPECT_EQ(f->count("flag"), 1u);
}

TEST(Form, RefusesRepeatsAndBadEscapes) {
  EXPECT_FALSE(parseForm("a=1&a=2").ok());
  EXPECT_FALSE(parseForm("a=%zz").ok());
  EXPECT_FALSE(parseForm("a=%4").ok());
  EXPECT_TRUE(parseForm("").ok());
}

TEST(Form, RefusesWhatIsNotUtf8) {
  auto ok = parseForm("ticket=CHG-%C3%A9t%C3%A9&grant=%E2%9C%93");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)["ticket"], "CHG-\xc3\xa9t\xc3\xa9");
  for (const char* bad : {"grant=%FF", "ticket=%C3", "%80=1", "grant=%C0%AF", "grant=%ED%A0%80"}) {
    auto f = parseForm(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_NE(f.status().message().find("UTF-8"), std::string::npos);
  }
}

TEST(Form, BearerAndContentType) {
  Request r;
  r.headers["authorization"] = "Bearer abc.def";
  r.headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8";
  EXPECT_EQ(bearerToken(r), "abc.def");
  EXPECT_TRUE(hasContentType(r, "application/x-www-form-urlencoded"));
  EXPECT_FALSE(hasContentType(r, "application/json"));
  r.headers["authorization"] = "Basic abc";
  EXPECT_EQ(bearerToken(r), "");
}

}  // namespace
}  // namespace jitb::http
