// ServiceNow and Jira triggers: authentic triggers make the broker read the ticket from its
// source (a mock here); a source or store that cannot answer is a 503 JSON error.
#include "broker/api/itsm_api.h"

#include "broker/tickets/webhook.h"
#include "tests/support/mocks/mock_ticket_source.h"
#include "tests/unit/api/fixture.h"

#include <openssl/hmac.h>

#include "broker/core/encoding.h"

namespace jitb::api {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::NiceMock;
using ::testing::Return;
using testing::errorOf;
using ::testing::StrictMock;

constexpr char kSnowSecret[] = "servicenow-secret-0123456789abcdef";
constexpr char kJiraSecret[] = "jira-secret-0123456789abcdef";

std::string hubSignature(const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kJiraSecret, static_cast<int>(sizeof kJiraSecret - 1),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return "sha256=" + core::hexEncode(std::string_view(reinterpret_cast<char*>(mac), len));
}

// A source that owns ids with its prefix and answers whatever the test scripts.
void owning(testing::MockTicketSource& s, std::string_view name, std::string prefix) {
  ON_CALL(s, name()).WillByDefault(Return(name));
  ON_CALL(s, owns(_)).WillByDefault([prefix](std::string_view id) { return id.rfind(prefix, 0) == 0; });
  ON_CALL(s, batchSize()).WillByDefault(Return(50));
}

class ItsmApiTest : public testing::ApiFixture {
 protected:
  ItsmApiTest() {
    owning(snow_, "servicenow", "CHG");
    owning(jira_, "jira", "OPS-");
  }
  void configured() {
    addItsmRoutes(router_, {refresher_, store_, clock_, &snow_, kSnowSecret, &jira_, kJiraSecret});
  }
  http::Response snow(const std::string& body) {
    return call("POST", "/v1/tickets/servicenow", body,
                {{"x-jitbroker-signature", tickets::signBody(body, kSnowSecret, ms(clock_.now()) / 1000)},
                 {"content-type", "application/json"}});
  }
  http::Response jira(const std::string& body, std::string delivery = "d-1") {
    std::map<std::string, std::string> h{{"x-hub-signature", hubSignature(body)},
                                         {"content-type", "application/json"}};
    if (!delivery.empty()) h["x-atlassian-webhook-identifier"] = std::move(delivery);
    return call("POST", "/v1/tickets/jira", body, std::move(h));
  }

  tickets::Refresher refresher_{tickets_, clock_, 60s};
  NiceMock<testing::MockTicketSource> snow_, jira_;
};

TEST_F(ItsmApiTest, AnUnconfiguredSourceIs404JsonNot405) {
  addItsmRoutes(router_, {refresher_, store_, clock_, nullptr, "", nullptr, ""});
  for (const char* target : {"/v1/tickets/servicenow", "/v1/tickets/jira"}) {
    http::Response r = call("POST", target, "{}", {{"content-type", "application/json"}});
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(errorOf(r), "not_found") << target;
  }
}

TEST_F(ItsmApiTest, ServiceNowRefusesBadTriggersWithoutAskingTheSource) {
  configured();
  EXPECT_CALL(snow_, fetch(_)).Times(0);
  EXPECT_EQ(call("POST", "/v1/tickets/servicenow", R"({"number":"CHG1"})",
                 {{"content-type", "application/json"}})
                .status,
            401);
  EXPECT_EQ(snow("{").status, 400);
  http::Response r = snow(R"({"number":"INC0001"})");  // not a configured table's record
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorOf(r), "invalid_request");
}

TEST_F(ItsmApiTest, ServiceNowTriggerReadsTheTicketAndASourceFailureIs503) {
  configured();
  EXPECT_CALL(snow_, fetch(ElementsAre("CHG0030001")))
      .WillOnce(Return(core::unavailable("cannot reach https://snow.test: Connection refused")))
      .WillOnce(Return(tickets::FetchResult{{}, {"CHG0030001"}, {}}));
  http::Response down = snow(R"({"number":"CHG0030001"})");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(errorOf(down), "temporarily_unavailable");
  // Missing at the source and never stored here: nothing to apply.
  EXPECT_CALL(store_, getTicket("CHG0030001")).WillOnce(Return(std::optional<store::TicketRow>()));
  http::Response r = snow(R"({"number":"CHG0030001"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(boost::json::parse(r.body).at("outcome").as_string(), "unchanged");
}

TEST_F(ItsmApiTest, JiraNeedsASignatureAndADeliveryIdAndIgnoresIssuesItDoesNotTrack) {
  configured();
  EXPECT_CALL(jira_, fetch(_)).Times(0);
  const std::string body = R"({"issue":{"key":"OPS-7"}})";
  EXPECT_EQ(call("POST", "/v1/tickets/jira", body,
                 {{"x-hub-signature", "sha1=00"}, {"x-atlassian-webhook-identifier", "d-1"},
                  {"content-type", "application/json"}})
                .status,
            401);
  EXPECT_EQ(jira(body, "").status, 400);
  EXPECT_EQ(jira(R"({"issue":{}})").status, 400);
  http::Response r = jira(R"({"issue":{"key":"HR-1"}})");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(boost::json::parse(r.body).at("reason").as_string(), "not_tracked");
}

TEST_F(ItsmApiTest, JiraDuplicateDeliveriesAreIgnoredAndAStoreFailureIs503) {
  configured();
  const std::string body = R"({"issue":{"key":"OPS-7"}})";
  EXPECT_CALL(store_, claimDelivery("jira:d-1", ms(clock_.now())))
      .WillOnce(Return(false))
      .WillOnce(Return(core::unavailable("database is locked")));
  http::Response dup = jira(body);
  EXPECT_EQ(dup.status, 202);
  EXPECT_EQ(boost::json::parse(dup.body).at("reason").as_string(), "duplicate_delivery");
  EXPECT_EQ(jira(body).status, 503);
}

TEST_F(ItsmApiTest, AJiraDeliveryThatFailedIsReleasedSoThatItsRetryIsProcessed) {
  configured();
  const std::string body = R"({"issue":{"key":"OPS-7"}})";
  EXPECT_CALL(store_, claimDelivery("jira:d-2", _)).WillOnce(Return(true));
  EXPECT_CALL(jira_, fetch(ElementsAre("OPS-7"))).WillOnce(Return(core::unavailable("HTTP 502")));
  EXPECT_CALL(store_, releaseDelivery("jira:d-2")).WillOnce(Return(core::okStatus()));
  EXPECT_EQ(jira(body, "d-2").status, 503);
}

}  // namespace
}  // namespace jitb::api
