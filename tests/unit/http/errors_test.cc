#include "broker/http/errors.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace jitb::http {
namespace {

using core::Code;

TEST(Errors, EveryCodeMapsToItsStatusAndName) {
  struct Case {
    Code code;
    int status;
    const char* name;
  } cases[] = {{Code::kInvalidArgument, 400, "invalid_request"},
               {Code::kUnauthenticated, 401, "unauthenticated"},
               {Code::kPermissionDenied, 403, "access_denied"},
               {Code::kNotFound, 404, "not_found"},
               {Code::kPayloadTooLarge, 413, "payload_too_large"},
               {Code::kUnsupportedMedia, 415, "unsupported_media_type"},
               {Code::kResourceExhausted, 429, "too_many_requests"},
               {Code::kUnavailable, 503, "temporarily_unavailable"},
               {Code::kInternal, 500, "server_error"}};
  for (const auto& c : cases) {
    Response r = errorResponse({c.code, "why"});
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.content_type, "application/json");
    auto o = boost::json::parse(r.body).as_object();
    EXPECT_EQ(o.at("error").as_string(), c.name);
    EXPECT_EQ(o.at("error_description").as_string(), "why");
  }
}

TEST(Errors, UnauthenticatedCarriesBearerChallenge) {
  Response r = errorResponse({Code::kUnauthenticated, "no token"});
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(r.headers[0].second, "Bearer");
}

TEST(Errors, InternalDetailNeverReachesTheBody) {
  Response r = errorResponse(core::internalError("sqlite: disk I/O error at page 7"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("sqlite"), std::string::npos);
}

TEST(Errors, OverrideNameForOAuthEndpoints) {
  Response r = errorResponse({Code::kPermissionDenied, "ticket closed"}, "invalid_grant");
  EXPECT_EQ(boost::json::parse(r.body).at("error").as_string(), "invalid_grant");
}

// The access log takes the code from here rather than parsing the body back.
TEST(Errors, TheResponseCarriesItsErrorCodeForTheAccessLog) {
  EXPECT_EQ(errorResponse({Code::kPermissionDenied, "x"}, "invalid_grant").error, "invalid_grant");
  EXPECT_EQ(errorResponse({Code::kNotFound, "x"}).error, "not_found");
  EXPECT_EQ(jsonResponse(200, boost::json::object{{"ok", true}}).error, "");
}

// Extra members (a denial's reason and basis) follow the two standard ones, in one object.
TEST(Errors, ExtraMembersFollowTheDescription) {
  boost::json::object extra{{"reason", "ticket_closed"}, {"basis", {{"failed_rule", "r"}}}};
  Response r = errorResponse({Code::kUnauthenticated, "closed"}, {}, extra);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body,
            R"({"error":"unauthenticated","error_description":"closed","reason":"ticket_closed","basis":{"failed_rule":"r"}})");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
}

TEST(Errors, ExtraMembersCannotReplaceTheErrorOrItsDescription) {
  boost::json::object extra{{"error", "other"}, {"error_description", "x"}, {"reason", "r"}};
  Response r = errorResponse({Code::kPermissionDenied, "denied"}, {}, extra);
  EXPECT_EQ(r.body, R"({"error":"access_denied","error_description":"denied","reason":"r"})");
  EXPECT_EQ(r.error, "access_denied");
  // Not a string either: the response is still built, with the standard error.
  Response odd =
      errorResponse({Code::kNotFound, "gone"}, "no_such_lease", boost::json::object{{"error", 7}});
  EXPECT_EQ(odd.status, 404);
  EXPECT_EQ(odd.body, R"({"error":"no_such_lease","error_description":"gone"})");
  EXPECT_EQ(odd.error, "no_such_lease");
}

}  // namespace
}  // namespace jitb::http
