// Signed ticket events and the admin ticket view.
#include "broker/api/tickets_api.h"

#include "broker/tickets/webhook.h"
#include "tests/unit/api/fixture.h"

namespace jitb::api {
namespace {

using ::testing::_;
using ::testing::Return;
using testing::errorOf;

constexpr char kSecret[] = "webhook-secret-0123456789abcdef";

class TicketsApiTest : public testing::ApiFixture {
 protected:
  TicketsApiTest() {
    addTicketRoutes(router_, {tickets_, store_, admin_, kSecret, clock_,
                              [](std::string_view id) {
                                return id.rfind("CHG", 0) == 0 ? std::string("servicenow")
                                                               : std::string();
                              }});
  }
  http::Response event(const std::string& body, std::string content_type = "application/json") {
    return call("POST", "/v1/tickets/events", body,
                {{"x-jitbroker-signature", tickets::signBody(body, kSecret, ms(clock_.now()) / 1000)},
                 {"content-type", std::move(content_type)}});
  }
  static std::string ticket(const std::string& id) {
    return R"({"ticket":{"id":")" + id +
           R"(","state":"approved","kind":"normal","requested_by":"alice","approved_by":["bob"],)"
           R"("subjects":["ci"],"access":["deploy"],)"
           R"("window":{"start":"2026-11-23T00:00:00Z","end":"2026-11-24T00:00:00Z"},)"
           R"("updated_at":"2026-11-23T08:00:00Z"}})";
  }
};

TEST_F(TicketsApiTest, AnUnsignedOrBadlySignedEventIs401AndItsBodyIsNotRead) {
  EXPECT_EQ(call("POST", "/v1/tickets/events", "{", {{"content-type", "application/json"}}).status, 401);
  http::Response r = call("POST", "/v1/tickets/events", ticket("OPS-1"),
                          {{"x-jitbroker-signature", tickets::signBody("other", kSecret, ms(clock_.now()) / 1000)},
                           {"content-type", "application/json"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(errorOf(r), "unauthenticated");
}

TEST_F(TicketsApiTest, SignedButMalformedEventsAre4xxJson) {
  EXPECT_EQ(event(ticket("OPS-1"), "text/plain").status, 415);
  for (const char* body : {"{", "[]", "{}", R"({"ticket":{"id":"OPS-1"},"extra":1})",
                           R"({"ticket":{"id":"OPS-1"}})", R"({"ticket":"OPS-1"})"}) {
    http::Response r = event(body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(errorOf(r), "invalid_request") << body << " " << r.body;
  }
}

TEST_F(TicketsApiTest, AnEventForATicketASourceOwnsIs409) {
  http::Response r = event(ticket("CHG0030001"));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("servicenow"), std::string::npos) << r.body;
}

TEST_F(TicketsApiTest, AStoreFailureWhileApplyingIs503) {
  EXPECT_CALL(store_, applyTicket(_, _))
      .WillRepeatedly(Return(core::unavailable("database is locked")));
  EXPECT_CALL(store_, getTicket(_)).WillRepeatedly(Return(core::unavailable("database is locked")));
  http::Response r = event(ticket("OPS-1"));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(errorOf(r), "temporarily_unavailable");
}

TEST_F(TicketsApiTest, TheAdminViewNeedsTheTokenAndSaysWhenATicketIsUnknown) {
  EXPECT_EQ(call("GET", "/v1/tickets/OPS-1").status, 401);
  EXPECT_CALL(store_, getTicket("OPS-404")).WillOnce(Return(std::optional<store::TicketRow>()));
  http::Response r = admin("GET", "/v1/tickets/OPS-404");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(errorOf(r), "not_found");
}

TEST_F(TicketsApiTest, TheAdminViewIs503WhenTheStoreCannotAnswer) {
  EXPECT_CALL(store_, getTicket("OPS-1")).WillOnce(Return(core::unavailable("database is locked")));
  EXPECT_EQ(admin("GET", "/v1/tickets/OPS-1").status, 503);
}

}  // namespace
}  // namespace jitb::api
