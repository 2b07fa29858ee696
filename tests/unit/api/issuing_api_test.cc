// The issuance endpoints over a real IssuanceService whose parts are gmock mocks: what goes
// on the wire, and where the work runs (I/O thread, lookup gate, or 503).
#include "broker/api/issuing_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <future>

#include "broker/http/router.h"
#include "tests/unit/issuing/service_fixture.h"

namespace jitb::testing {
namespace {

using ::testing::_;
using ::testing::Return;
namespace json = boost::json;

const std::string kForm =
    "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=JWT"
    "&subject_token_type=urn:ietf:params:oauth:token-type:jwt&ticket=CHG1&grant=deploy";

std::string header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

class IssuingApiTest : public ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    ON_CALL(callers_, verify).WillByDefault(Return(caller()));
    api_ = std::make_unique<api::IssuingApi>(api::IssuingApiDeps{
        *service_, metrics_, nullptr, [this](std::string_view) { return jwt_waits_; },
        [this](const std::string&) { return ticket_waits_; }});
  }

  http::Request post(std::string body, std::string type) {
    http::Request r;
    r.method = "POST";
    r.headers["content-type"] = std::move(type);
    r.body = std::move(body);
    return r;
  }
  http::Request tokenPost(std::string body = kForm) {
    return post(std::move(body), "application/x-www-form-urlencoded");
  }
  http::Request certPost(std::string body = R"({"ticket":"CHG1","grant":"cert","csr":"PEM"})") {
    http::Request r = post(std::move(body), "application/json");
    r.headers["authorization"] = "Bearer JWT";
    return r;
  }

  // A responder that keeps the answer; offloaded work waits in `offloaded_` for the test.
  http::Responder responder() {
    answer_.reset();
    return http::Responder([this](http::Response r) { answer_ = std::move(r); },
                           [this](std::function<void()> fn) { offloaded_.push_back(std::move(fn)); });
  }
  void runOffloaded() {
    while (!offloaded_.empty()) {
      auto fn = std::move(offloaded_.front());
      offloaded_.pop_front();
      fn();
    }
  }
  http::Response exchange(http::Request r) {
    api_->exchangeToken(r, responder());
    runOffloaded();
    EXPECT_TRUE(answer_);
    return answer_ ? *answer_ : http::Response{};
  }
  http::Response certificate(http::Request r) {
    api_->issueCertificate(r, responder());
    runOffloaded();
    EXPECT_TRUE(answer_);
    return answer_ ? *answer_ : http::Response{};
  }

  std::unique_ptr<api::IssuingApi> api_;
  bool jwt_waits_ = false, ticket_waits_ = false;
  std::optional<http::Response> answer_;
  std::deque<std::function<void()>> offloaded_;
};

TEST_F(IssuingApiTest, ATokenExchangeAnswersPerRfc8693) {
  http::Response r = exchange(tokenPost());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(header(r, "Pragma"), "no-cache");
  EXPECT_EQ(r.subject, "repo:acme/api");
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("access_token"), "header.payload.sig");
  EXPECT_EQ(body.at("issued_token_type"), "urn:ietf:params:oauth:token-type:jwt");
  EXPECT_EQ(body.at("token_type"), "Bearer");
  EXPECT_EQ(body.at("expires_in"), 3600);
  EXPECT_EQ(body.at("scope"), "r w");
  ASSERT_EQ(inserted_.size(), 1u);
  EXPECT_EQ(body.at("lease_id").as_string(), inserted_[0].id);
  EXPECT_EQ(body.size(), 6u);
}

TEST_F(IssuingApiTest, TokenEndpointErrorsAreOAuthErrors) {
  http::Response media = exchange(post(kForm, "application/json"));
  EXPECT_EQ(media.status, 415);
  EXPECT_EQ(media.error, "invalid_request");
  EXPECT_EQ(header(media, "Cache-Control"), "no-store");
  http::Response grant = exchange(tokenPost("grant_type=password"));
  EXPECT_EQ(grant.status, 400);
  EXPECT_EQ(grant.error, "unsupported_grant_type");
  ticket_.state = "closed";
  http::Response denied = exchange(tokenPost());
  EXPECT_EQ(denied.status, 400);
  EXPECT_EQ(denied.error, "invalid_grant");
  EXPECT_EQ(denied.rule, "ticket.state");
  EXPECT_EQ(denied.subject, "repo:acme/api");
  json::object body = json::parse(denied.body).as_object();
  EXPECT_EQ(body.at("reason"), "ticket_closed");
  EXPECT_EQ(body.at("basis").at("failed_rule"), "ticket.state");
}

TEST_F(IssuingApiTest, AnUnacceptableSubjectTokenIsInvalidRequest) {
  EXPECT_CALL(callers_, verify("JWT", _))
      .WillOnce(Return(core::Status(core::Code::kUnauthenticated, "token expired")));
  EXPECT_CALL(tickets_, lookup).Times(0);
  http::Response r = exchange(tokenPost());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body).at("error_description"), "subject_token: token expired");
}

TEST_F(IssuingApiTest, AClientCertificateIsTheSubjectWithoutAToken) {
  EXPECT_CALL(peers_, authenticate("DER", _))
      .WillOnce(Return(core::Status(core::Code::kUnauthenticated, "certificate revoked",
                                    std::string(issuing::kTicketClosedDetail))));
  http::Request req = tokenPost("grant_type=urn:ietf:params:oauth:grant-type:token-exchange&ticket=CHG1");
  req.peer_cert_der = "DER";
  http::Response r = exchange(req);
  EXPECT_EQ(r.status, 400);
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("error_description"), "client certificate: certificate revoked");
  EXPECT_EQ(body.at("reason"), "ticket_closed");
}

TEST_F(IssuingApiTest, AQuotaRefusalIs429TooManyRequests) {
  ON_CALL(store_, insertLeaseAsync).WillByDefault([](store::LeaseRow, store::InsertDone done) {
    done(core::Status(core::Code::kResourceExhausted, "quota"), std::nullopt);
  });
  http::Response r = exchange(tokenPost());
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.error, "too_many_requests");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
}

TEST_F(IssuingApiTest, ACertificateAnswers201WithItsLease) {
  http::Response r = certificate(certPost(R"({"ticket":"CHG1","grant":"cert","key_type":"server"})"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(r.subject, "repo:acme/api");
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("certificate"), "-----CERT-----");
  EXPECT_EQ(body.at("private_key"), "-----KEY-----");
  ASSERT_EQ(inserted_.size(), 1u);
  EXPECT_EQ(body.at("lease_id").as_string(), inserted_[0].id);
  // The key comes last, after the lease id, as it always has.
  EXPECT_EQ(std::prev(body.end())->key(), "private_key");
}

TEST_F(IssuingApiTest, CertificateEndpointErrors) {
  EXPECT_CALL(callers_, verify)
      .WillOnce(Return(core::Status(core::Code::kUnauthenticated, "bad signature")))
      .WillRepeatedly(Return(caller()));
  http::Response anon = certificate(certPost());
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(header(anon, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(certificate(certPost("[1]")).status, 400);
  EXPECT_EQ(certificate(certPost(R"({"ticket":"CHG1"})")).status, 400);
  ticket_.subjects = {"someone"};
  http::Response denied = certificate(certPost());
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.error, "access_denied");
  EXPECT_EQ(json::parse(denied.body).at("basis"), json::parse(R"({"failed_rule":"caller.subject"})"));
  EXPECT_CALL(ca_, issue).WillOnce(Return(core::invalidArgument("bad CSR")));
  ticket_.subjects = {"repo:acme/api"};
  http::Response refused = certificate(certPost());
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(audited("certificate.refused"), 1u);
}

TEST_F(IssuingApiTest, WithoutACaCertificatesAreUnavailable) {
  issuing::IssuanceService tokens_only({callers_, tokens_, nullptr, policies_, tickets_, *leases_,
                                        store_, audit_, clock_, metrics_});
  tokens_only.addMinter(token_minter_);
  api_ = std::make_unique<api::IssuingApi>(api::IssuingApiDeps{tokens_only, metrics_, nullptr, nullptr, nullptr});
  EXPECT_CALL(tickets_, lookup).Times(0);
  http::Response r = certificate(certPost());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body).at("error_description"), "certificate issuance is not configured");
}

TEST_F(IssuingApiTest, WorkThatMayWaitLeavesTheCallingThread) {
  ticket_waits_ = true;
  http::Request req = tokenPost();
  api_->exchangeToken(req, responder());
  // Nothing was looked up here: the request went to the offload.
  EXPECT_FALSE(answer_);
  EXPECT_EQ(offloaded_.size(), 1u);
  runOffloaded();
  ASSERT_TRUE(answer_);
  EXPECT_EQ(answer_->status, 200);

  ticket_waits_ = false;
  jwt_waits_ = true;
  http::Request cert = certPost();
  api_->issueCertificate(cert, responder());
  EXPECT_FALSE(answer_);
  runOffloaded();
  ASSERT_TRUE(answer_);
  EXPECT_EQ(answer_->status, 201);

  // The caller is known at once, the ticket needs its source: the second hop is after parsing.
  jwt_waits_ = false;
  ticket_waits_ = true;
  http::Request cert2 = certPost();
  api_->issueCertificate(cert2, responder());
  EXPECT_FALSE(answer_);
  runOffloaded();
  ASSERT_TRUE(answer_);
  EXPECT_EQ(answer_->status, 201);
}

TEST_F(IssuingApiTest, AFullGateRefusesWith503) {
  issuing::LookupGate none(0, {}, clock_);
  api_ = std::make_unique<api::IssuingApi>(api::IssuingApiDeps{
      *service_, metrics_, &none, nullptr, [](const std::string&) { return true; }});
  EXPECT_CALL(tickets_, lookup).Times(0);
  http::Response r = exchange(tokenPost());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(header(r, "Retry-After"), "1");
  EXPECT_EQ(json::parse(r.body).at("error_description"),
            "too many ticket lookups are under way; try again shortly");
  EXPECT_THAT(metrics_.render(),
              ::testing::HasSubstr("jitbroker_lookups_refused_total{reason=\"busy\"} 1"));
}

// Runs on the gate's thread; the answer is awaited (bounded).
class GateTest : public IssuingApiTest {
 protected:
  http::Response throughGate(issuing::PerCallerLimits limits, bool token) {
    issuing::LookupGate gate(1, limits, clock_);
    api_ = std::make_unique<api::IssuingApi>(api::IssuingApiDeps{
        *service_, metrics_, &gate, nullptr, [](const std::string&) { return true; }});
    auto p = std::make_shared<std::promise<http::Response>>();
    auto f = p->get_future();
    http::Responder respond([p](http::Response r) { p->set_value(std::move(r)); },
                            [](std::function<void()> fn) { fn(); });
    http::Request req = token ? tokenPost() : certPost();
    if (token) api_->exchangeToken(req, respond);
    else api_->issueCertificate(req, respond);
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    gate.stop();
    return f.get();
  }
};

TEST_F(GateTest, AnAdmittedCallerIsServedOnTheGate) {
  EXPECT_EQ(throughGate({4, 0, 10}, true).status, 200);
  EXPECT_EQ(throughGate({4, 0, 10}, false).status, 201);
}

TEST_F(GateTest, ACallerAtItsLimitIsRefused) {
  http::Response busy = throughGate({0, 0, 10}, true);
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(json::parse(busy.body).at("error_description"),
            "this caller has too many ticket lookups under way; try again shortly");
  http::Response rate = throughGate({4, 0.001, 0}, false);
  EXPECT_EQ(rate.status, 503);
  EXPECT_EQ(json::parse(rate.body).at("error_description"),
            "this caller asks for tickets that must be read from their source too often; try again shortly");
}

TEST_F(IssuingApiTest, IntrospectionAndRevocation) {
  auto out = issue(tokenRequest());
  ASSERT_TRUE(out);
  store::LeaseRow lease = inserted_.at(0);
  lease.state = store::LeaseState::kActive;
  ON_CALL(tokens_, verify).WillByDefault([](std::string_view t) -> core::StatusOr<json::object> {
    if (t == "good") return json::object{{"jti", "J1"}, {"sub", "s"}};
    if (t == "nojti") return json::object{{"sub", "s"}};
    return core::Status(core::Code::kUnauthenticated, "bad");
  });
  ON_CALL(store_, findLeaseByJti).WillByDefault([&](const std::string& jti) {
    return core::StatusOr<std::optional<store::LeaseRow>>(
        jti == "J1" ? std::optional<store::LeaseRow>(lease) : std::nullopt);
  });
  auto intro = [&](std::string token) {
    http::Request r = tokenPost("token=" + token);
    return api_->introspect(r);
  };
  json::object active = json::parse(intro("good").body).as_object();
  EXPECT_EQ(active.at("active"), true);
  EXPECT_EQ(active.at("token_type"), "Bearer");
  EXPECT_EQ(active.at("lease_id").as_string(), lease.id);
  EXPECT_EQ(active.at("sub"), "s");
  EXPECT_EQ(intro("bad").body, R"({"active":false})");
  EXPECT_EQ(intro("nojti").body, R"({"active":false})");
  clock_.advance(std::chrono::hours(2));  // past its expiry, before the timer ended it
  EXPECT_EQ(intro("good").body, R"({"active":false})");
  http::Request empty = tokenPost("token=");
  EXPECT_EQ(api_->introspect(empty).status, 400);

  http::Request rev = tokenPost("token=good");
  http::Response r = api_->revoke(rev);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].second, "holder_revoked");
  http::Request unknown = tokenPost("token=bad");
  EXPECT_EQ(api_->revoke(unknown).status, 200);  // RFC 7009 §2.2
  EXPECT_EQ(ended_.size(), 1u);
  ON_CALL(store_, findLeaseByJti).WillByDefault(Return(core::unavailable("db")));
  http::Request broken = tokenPost("token=good");
  EXPECT_EQ(api_->revoke(broken).status, 503);
  http::Request broken2 = tokenPost("token=good");
  EXPECT_EQ(api_->introspect(broken2).status, 503);
  http::Request media = post("token=good", "text/plain");
  EXPECT_EQ(api_->revoke(media).status, 415);
}

TEST_F(IssuingApiTest, RoutesAreRegisteredWithTheAdminCheckOnIntrospection) {
  http::Router router;
  api::AdminAuth admin("secret");
  api_->addRoutes(router, admin);
  std::vector<std::string> names;
  for (const auto& r : router.routes()) names.push_back(r.method + " " + r.pattern);
  EXPECT_EQ(names, (std::vector<std::string>{"POST /v1/token", "POST /v1/certificates",
                                             "POST /v1/ssh/certificates", "POST /v1/ssh/revoke",
                                             "POST /v1/introspect", "POST /v1/revoke"}));
  http::Request req = tokenPost("token=x");
  req.path = req.encoded_path = "/v1/introspect";
  std::string route;
  EXPECT_EQ(router.dispatch(req, route).status, 401);
}

}  // namespace
}  // namespace jitb::testing
