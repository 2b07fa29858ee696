#include "broker/http/router.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <stdexcept>
#include <thread>

namespace jitb::http {
namespace {

Response text(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/healthz", [](Request&) { return text("health"); });
    router_.add("GET", "/v1/leases/{id}", [](Request& r) { return text("get " + r.params["id"]); });
    router_.add("POST", "/v1/leases/{id}/revoke",
                [](Request& r) { return text("revoke " + r.params["id"]); });
  }
  Response call(const std::string& method, const std::string& target, std::string* route = nullptr) {
    Request req;
    req.method = method;
    EXPECT_TRUE(parseTarget(target, req).ok()) << target;
    std::string r;
    Response resp = router_.dispatch(req, r);
    if (route) *route = r;
    return resp;
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralAndCapturedSegments) {
  std::string route;
  EXPECT_EQ(call("GET", "/healthz", &route).body, "health");
  EXPECT_EQ(route, "/healthz");
  EXPECT_EQ(call("GET", "/v1/leases/L123", &route).body, "get L123");
  EXPECT_EQ(route, "/v1/leases/{id}");
  EXPECT_EQ(call("POST", "/v1/leases/abc/revoke").body, "revoke abc");
}

TEST_F(RouterTest, UnknownPathIs404JsonWithBoundedRouteLabel) {
  std::string route;
  Response r = call("GET", "/v1/nothing/here", &route);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(route, "unmatched");
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body.at("error").as_string(), "not_found");
  EXPECT_FALSE(body.at("error_description").as_string().empty());
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  Response r = call("DELETE", "/v1/leases/x/revoke");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "POST");
}

TEST_F(RouterTest, ListsEveryRegisteredRouteInOrder) {
  router_.addInline("GET", "/v1/x", [](Request&) { return text("x"); });
  auto routes = router_.routes();
  ASSERT_EQ(routes.size(), 4u);
  EXPECT_EQ(routes[0].method, "GET");
  EXPECT_EQ(routes[0].pattern, "/healthz");
  EXPECT_EQ(routes[2].method, "POST");
  EXPECT_EQ(routes[2].pattern, "/v1/leases/{id}/revoke");
  EXPECT_EQ(routes[3].pattern, "/v1/x");
}

TEST_F(RouterTest, EncodedSlashStaysInsideItsSegment) {
  EXPECT_EQ(call("GET", "/v1/leases/a%2Fb").body, "get a/b");
}

TEST_F(RouterTest, CaptureDoesNotSpanSegments) {
  EXPECT_EQ(call("GET", "/v1/leases/a/b").status, 404);
  EXPECT_EQ(call("GET", "/v1/leases/").status, 404);
}

TEST(ParseTarget, DecodesPathAndQuery) {
  Request req;
  ASSERT_TRUE(parseTarget("/v1/leases?ticket=CHG%2F1&state=active&empty", req).ok());
  EXPECT_EQ(req.path, "/v1/leases");
  EXPECT_EQ(req.query["ticket"], "CHG/1");
  EXPECT_EQ(req.query["state"], "active");
  EXPECT_EQ(req.query.count("empty"), 1u);
}

TEST(ParseTarget, RefusesNonOriginForm) {
  for (const char* bad : {"", "v1/leases", "http://evil/x", "/a b", "*"}) {
    Request req;
    EXPECT_FALSE(parseTarget(bad, req).ok()) << bad;
  }
}

// An async handler answers after it returns, from another thread, and may hand work that
// blocks to the offload; the waiting dispatch runs that work on its own thread.
TEST_F(RouterTest, AsyncHandlerAnswersLaterFromAnotherThread) {
  std::vector<std::thread> workers;
  router_.addAsync("POST", "/v1/later/{n}", [&](Request& r, const Responder& respond) {
    std::string n = r.params["n"];  // copied: the request is gone once this returns
    workers.emplace_back([respond, n] {
      respond.offload([respond, n] {
        respond(text("later " + n));
        respond(text("twice"));  // only the first answer counts
      });
    });
  });
  std::string route;
  Response r = call("POST", "/v1/later/7", &route);
  EXPECT_EQ(r.body, "later 7");
  EXPECT_EQ(route, "/v1/later/{n}");
  for (auto& w : workers) w.join();
}

TEST_F(RouterTest, ResponderSendsOnceAndOffloadsThroughItsExecutor) {
  std::vector<std::string> sent;
  int offloaded = 0;
  Responder respond([&](Response r) { sent.push_back(r.body); },
                    [&](std::function<void()> fn) {
                      ++offloaded;
                      fn();
                    });
  Responder copy = respond;
  respond.offload([&] { copy(text("a")); });
  respond(text("b"));
  EXPECT_EQ(offloaded, 1);
  EXPECT_EQ(sent, std::vector<std::string>{"a"});
}

// Plain handlers may block, so they never run on the dispatching (I/O) thread: they go
// through the responder's offload; one that throws is answered 500, not propagated.
TEST_F(RouterTest, PlainHandlersRunThroughTheOffloadAndThrowingOnesAnswer500) {
  router_.add("GET", "/throws", [](Request&) -> Response { throw std::runtime_error("bug"); });
  std::vector<std::function<void()>> queued;
  std::vector<Response> sent;
  Responder respond([&](Response r) { sent.push_back(std::move(r)); },
                    [&](std::function<void()> fn) { queued.push_back(std::move(fn)); });
  for (const char* target : {"/healthz", "/throws"}) {
    Request req;
    req.method = "GET";
    ASSERT_TRUE(parseTarget(target, req).ok());
    std::string route;
    router_.dispatch(req, route, respond);
  }
  EXPECT_TRUE(sent.empty());  // nothing ran inline
  ASSERT_EQ(queued.size(), 2u);
  queued[0]();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body, "health");
  std::vector<Response> second;
  Responder other([&](Response r) { second.push_back(std::move(r)); },
                  [&](std::function<void()> fn) { fn(); });
  Request req;
  req.method = "GET";
  ASSERT_TRUE(parseTarget("/throws", req).ok());
  std::string route;
  router_.dispatch(req, route, other);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].status, 500);
}

TEST_F(RouterTest, InlineHandlersAnswerWhereDispatched) {
  router_.addInline("GET", "/inline", [](Request&) { return text("here"); });
  std::vector<std::string> sent;
  int offloaded = 0;
  Responder respond([&](Response r) { sent.push_back(r.body); },
                    [&](std::function<void()>) { ++offloaded; });
  Request req;
  req.method = "GET";
  ASSERT_TRUE(parseTarget("/inline", req).ok());
  std::string route;
  router_.dispatch(req, route, respond);
  EXPECT_EQ(sent, std::vector<std::string>{"here"});
  EXPECT_EQ(offloaded, 0);
}

}  // namespace
}  // namespace jitb::http
