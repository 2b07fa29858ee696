// The one mapping from issuance outcomes to HTTP: OAuth errors for /v1/token, the broker's
// JSON errors for /v1/certificates.
#include "broker/api/oauth.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/issuing/ports.h"

namespace jitb::api {
namespace {

using core::Code;
namespace json = boost::json;

std::string header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

issuing::Denial denial() {
  issuing::Denial d;
  d.rule = "request.scope";
  d.message = "denied by rule request.scope: scope 'x' is not granted";
  d.basis = json::object{{"failed_rule", "request.scope"}};
  d.reason = policies::DenialKind::kScope;
  d.subject = "repo:acme/api";
  return d;
}

TEST(OAuth, EveryDenialKindHasItsError) {
  EXPECT_EQ(oauthErrorName(policies::DenialKind::kGrant), "invalid_grant");
  EXPECT_EQ(oauthErrorName(policies::DenialKind::kScope), "invalid_scope");
  EXPECT_EQ(oauthErrorName(policies::DenialKind::kTarget), "invalid_target");
  EXPECT_EQ(oauthErrorName(policies::DenialKind::kRequest), "invalid_request");
}

TEST(OAuth, ADenialOnTheTokenEndpoint) {
  http::Response r = denialResponse(denial(), Wire::kOAuth);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.error, "invalid_scope");
  EXPECT_EQ(r.rule, "request.scope");
  EXPECT_EQ(r.subject, "repo:acme/api");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(r.body,
            R"({"error":"invalid_scope","error_description":"denied by rule request.scope: scope 'x' is not granted","basis":{"failed_rule":"request.scope"}})");
}

TEST(OAuth, AClosedTicketSaysSoBeforeTheBasis) {
  issuing::Denial d = denial();
  d.ticket_closed = true;
  d.reason = policies::DenialKind::kGrant;
  json::value body = json::parse(denialResponse(d, Wire::kOAuth).body);
  EXPECT_EQ(body.at("error"), "invalid_grant");
  EXPECT_EQ(body.at("reason"), "ticket_closed");
  EXPECT_EQ(body.at("basis").at("failed_rule"), "request.scope");
}

TEST(OAuth, ADenialOnTheCertificateEndpointIsAccessDenied) {
  http::Response r = denialResponse(denial(), Wire::kJson);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.error, "access_denied");
  EXPECT_EQ(header(r, "Cache-Control"), "");
  EXPECT_EQ(json::parse(r.body).at("basis").at("failed_rule"), "request.scope");
}

TEST(OAuth, ARefusedCallerNamesWhatWasPresented) {
  core::Status bad(Code::kUnauthenticated, "signature invalid");
  http::Response jwt = callerRefused(bad, Wire::kOAuth, false);
  EXPECT_EQ(jwt.status, 400);
  EXPECT_EQ(jwt.error, "invalid_request");
  EXPECT_EQ(json::parse(jwt.body).at("error_description"), "subject_token: signature invalid");
  EXPECT_EQ(header(jwt, "WWW-Authenticate"), "");
  http::Response cert = callerRefused(bad, Wire::kOAuth, true);
  EXPECT_EQ(json::parse(cert.body).at("error_description"), "client certificate: signature invalid");
  EXPECT_FALSE(json::parse(cert.body).as_object().contains("reason"));

  http::Response json_wire = callerRefused(bad, Wire::kJson, false);
  EXPECT_EQ(json_wire.status, 401);
  EXPECT_EQ(header(json_wire, "WWW-Authenticate"), "Bearer");
}

TEST(OAuth, ACertificateRevokedWithItsTicketIsFinal) {
  core::Status closed(Code::kUnauthenticated, "certificate revoked", std::string(issuing::kTicketClosedDetail));
  EXPECT_EQ(json::parse(callerRefused(closed, Wire::kOAuth, true).body).at("reason"), "ticket_closed");
  EXPECT_EQ(json::parse(callerRefused(closed, Wire::kJson, false).body).at("reason"), "ticket_closed");
}

TEST(OAuth, FailuresKeepTheirStatus) {
  core::Status quota(Code::kResourceExhausted, "subject quota of 1 active leases reached");
  http::Response oauth = failureResponse(quota, Wire::kOAuth);
  EXPECT_EQ(oauth.status, 429);
  EXPECT_EQ(oauth.error, "too_many_requests");
  EXPECT_EQ(header(oauth, "Cache-Control"), "no-store");
  http::Response plain = failureResponse(quota, Wire::kJson);
  EXPECT_EQ(plain.status, 429);
  EXPECT_EQ(header(plain, "Cache-Control"), "");
  http::Response down = failureResponse(core::unavailable("later"), Wire::kOAuth);
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.error, "temporarily_unavailable");
  EXPECT_EQ(header(down, "Retry-After"), "1");
}

}  // namespace
}  // namespace jitb::api
