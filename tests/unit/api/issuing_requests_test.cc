// Parsing the issuance requests: the RFC 8693 form, the certificate JSON and the RFC 7662 /
// RFC 7009 token forms.
#include "broker/api/issuing_requests.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace jitb::api {
namespace {

using core::Code;

http::Request form(std::string body, std::string type = "application/x-www-form-urlencoded") {
  http::Request r;
  r.method = "POST";
  r.headers["content-type"] = std::move(type);
  r.body = std::move(body);
  return r;
}

const std::string kExchange =
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
    "&subject_token=JWT&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt";

TEST(TokenExchangeForm, ParsesEveryField) {
  auto f = parseTokenExchangeForm(
      form(kExchange + "&ticket=CHG1&grant=deploy&audience=api&scope=r+w&ttl=600"), false);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->subject_token, "JWT");
  EXPECT_FALSE(f->client_certificate);
  EXPECT_EQ(f->ticket, "CHG1");
  EXPECT_EQ(f->grant, "deploy");
  EXPECT_EQ(f->audience, "api");
  EXPECT_EQ(f->scopes, (std::vector<std::string>{"r", "w"}));
  ASSERT_TRUE(f->ttl);
  EXPECT_EQ(f->ttl->count(), 600);
}

TEST(TokenExchangeForm, AcceptsAnIdTokenAsSubject) {
  auto f = parseTokenExchangeForm(
      form("grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=J"
           "&subject_token_type=urn:ietf:params:oauth:token-type:id_token&ticket=T"),
      false);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FALSE(f->ttl);
}

TEST(TokenExchangeForm, TheClientCertificateStandsInForAMissingSubjectToken) {
  auto f = parseTokenExchangeForm(
      form("grant_type=urn:ietf:params:oauth:grant-type:token-exchange&ticket=T"), true);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_TRUE(f->client_certificate);
  EXPECT_TRUE(f->subject_token.empty());
}

struct Bad {
  const char* name;
  std::string body;
  Code code;
  const char* error;
  const char* message;
};

TEST(TokenExchangeForm, RefusesWithTheOAuthErrorNamed) {
  const Bad cases[] = {
      {"grant", "grant_type=password&ticket=T", Code::kInvalidArgument, "unsupported_grant_type",
       "grant_type must be urn:ietf:params:oauth:grant-type:token-exchange"},
      {"no_subject", "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&ticket=T",
       Code::kInvalidArgument, "invalid_request", "subject_token is required"},
      {"type",
       "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=J"
       "&subject_token_type=urn:x&ticket=T",
       Code::kInvalidArgument, "invalid_request",
       "subject_token_type must be urn:ietf:params:oauth:token-type:jwt"},
      {"no_ticket", kExchange, Code::kInvalidArgument, "invalid_request", "ticket is required"},
      {"ttl", kExchange + "&ticket=T&ttl=-1", Code::kInvalidArgument, "invalid_request",
       "ttl must be a positive whole number of seconds"},
      {"ttl_text", kExchange + "&ticket=T&ttl=1h", Code::kInvalidArgument, "invalid_request",
       "ttl must be a positive whole number of seconds"},
      {"ttl_year", kExchange + "&ticket=T&ttl=99999999", Code::kInvalidArgument,
       "invalid_request", "ttl must be a positive whole number of seconds"},
  };
  for (const Bad& c : cases) {
    auto f = parseTokenExchangeForm(form(c.body), false);
    ASSERT_FALSE(f.ok()) << c.name;
    EXPECT_EQ(f.status().code(), c.code) << c.name;
    EXPECT_EQ(f.status().detail(), c.error) << c.name;
    EXPECT_EQ(f.status().message(), c.message) << c.name;
  }
}

TEST(TokenExchangeForm, AnotherContentTypeIsUnsupportedMedia) {
  auto f = parseTokenExchangeForm(form(kExchange + "&ticket=T", "application/json"), false);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kUnsupportedMedia);
  EXPECT_EQ(f.status().detail(), "invalid_request");
}

TEST(TokenExchangeForm, AMalformedFormIsInvalidRequest) {
  auto f = parseTokenExchangeForm(form("ticket=%zz"), false);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(f.status().detail(), "invalid_request");
}

core::StatusOr<CertificateRequestBody> cert(std::string_view json) {
  return parseCertificateRequest(boost::json::parse(json).as_object());
}

TEST(CertificateRequest, ParsesACsrRequest) {
  auto c = cert(R"({"ticket":"T","csr":"PEM","grant":"g","ttl":60})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ticket, "T");
  EXPECT_EQ(c->csr, "PEM");
  EXPECT_EQ(c->grant, "g");
  EXPECT_FALSE(c->server_key);
  ASSERT_TRUE(c->ttl);
  EXPECT_EQ(c->ttl->count(), 60);
}

TEST(CertificateRequest, AServerKeyNeedsNoCsr) {
  auto c = cert(R"({"ticket":"T","key_type":"server"})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->server_key);
  EXPECT_FALSE(c->ttl);
}

TEST(CertificateRequest, RefusesBadFields) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"ticket":1,"csr":"x"})", "ticket, csr, grant and key_type must be strings"},
      {R"({"ticket":"T","csr":"x","key_type":null})",
       "ticket, csr, grant and key_type must be strings"},
      {R"({"csr":"x"})", "ticket is required"},
      {R"({"ticket":"T"})", "csr is required (or \"key_type\": \"server\" for a broker-made key)"},
      {R"({"ticket":"T","csr":"x","ttl":0})", "ttl must be a positive whole number of seconds"},
      {R"({"ticket":"T","csr":"x","ttl":"60"})", "ttl must be a positive whole number of seconds"},
      {R"({"ticket":"T","csr":"x","ttl":1.5})", "ttl must be a positive whole number of seconds"},
  };
  for (const auto& [json, message] : cases) {
    auto c = cert(json);
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << json;
    EXPECT_EQ(c.status().message(), message) << json;
  }
}

TEST(TokenForm, NeedsAFormWithAToken) {
  auto ok = parseTokenForm(form("token=abc"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "abc");
  EXPECT_EQ(parseTokenForm(form("token=abc", "text/plain")).status().code(),
            Code::kUnsupportedMedia);
  EXPECT_EQ(parseTokenForm(form("other=1")).status().message(), "token is required");
  EXPECT_FALSE(parseTokenForm(form("token=%zz")).ok());
}

}  // namespace
}  // namespace jitb::api
