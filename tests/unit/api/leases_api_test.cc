// Admin lease routes: the admin check comes first, bad input is a 4xx JSON error, and a store
// that cannot answer is a 503 JSON error.
#include "broker/api/leases_api.h"

#include "tests/unit/api/fixture.h"

namespace jitb::api {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::Return;
using testing::errorOf;

store::LeaseRow row(std::string id) {
  store::LeaseRow l;
  l.id = std::move(id);
  l.ticket = "CHG1";
  l.jti = "j-" + l.id;
  return l;
}

class LeasesApiTest : public testing::ApiFixture {
 protected:
  LeasesApiTest() { addLeaseRoutes(router_, store_, leases_, admin_); }
};

TEST_F(LeasesApiTest, EveryRouteNeedsTheAdminTokenBeforeTouchingTheStore) {
  // The strict mock store fails the test on any call.
  for (auto [method, target] : {std::pair{"GET", "/v1/leases"}, {"GET", "/v1/reviews"},
                                {"GET", "/v1/leases/L1"}, {"POST", "/v1/leases/revoke"},
                                {"POST", "/v1/leases/L1/revoke"}}) {
    http::Response r = call(method, target, "{}", {{"authorization", "Bearer wrong"}});
    EXPECT_EQ(r.status, 401) << target;
    EXPECT_EQ(errorOf(r), "unauthenticated") << target;
  }
}

TEST_F(LeasesApiTest, ListPassesTheFilterAndPagesWithTheLastId) {
  EXPECT_CALL(store_, listLeases(AllOf(Field(&store::LeaseFilter::ticket, "CHG1"),
                                       Field(&store::LeaseFilter::state, store::LeaseState::kActive),
                                       Field(&store::LeaseFilter::after_id, "L0"),
                                       Field(&store::LeaseFilter::limit, 2))))
      .WillOnce(Return(std::vector<store::LeaseRow>{row("L1"), row("L2")}));
  http::Response r = admin("GET", "/v1/leases?ticket=CHG1&state=active&cursor=L0&limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = boost::json::parse(r.body).as_object();
  EXPECT_EQ(o.at("leases").as_array().size(), 2u);
  EXPECT_EQ(o.at("next").as_string(), "L2");  // a full page: there may be more
}

TEST_F(LeasesApiTest, BadQueryValuesAre400) {
  for (const char* q : {"state=bogus", "limit=0", "limit=1001", "limit=ten", "limit=5x"}) {
    http::Response r = admin("GET", std::string("/v1/leases?") + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_EQ(errorOf(r), "invalid_request") << q;
  }
}

TEST_F(LeasesApiTest, StoreFailuresAre503WithAJsonError) {
  EXPECT_CALL(store_, listLeases(_)).Times(2).WillRepeatedly(Return(core::unavailable("database is locked")));
  EXPECT_CALL(store_, getLease("L1")).WillOnce(Return(core::unavailable("database is locked")));
  EXPECT_CALL(store_, endLease("L2", _, "admin", _)).WillOnce(Return(core::unavailable("disk I/O error")));
  for (auto [method, target] : {std::pair{"GET", "/v1/leases"}, {"GET", "/v1/reviews"},
                                {"GET", "/v1/leases/L1"}, {"POST", "/v1/leases/L2/revoke"}}) {
    http::Response r = admin(method, target);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_EQ(errorOf(r), "temporarily_unavailable") << target << " " << r.body;
  }
  // Bulk revoke: the store fails while listing what matches.
  EXPECT_CALL(store_, listLeases(_)).WillOnce(Return(core::unavailable("database is locked")));
  EXPECT_EQ(admin("POST", "/v1/leases/revoke", R"({"ticket":"CHG1"})").status, 503);
}

TEST_F(LeasesApiTest, AnUnknownLeaseIs404) {
  EXPECT_CALL(store_, getLease("nope")).Times(2).WillRepeatedly(Return(std::optional<store::LeaseRow>()));
  EXPECT_CALL(store_, endLease("nope", store::LeaseState::kRevoked, "admin", _))
      .WillOnce(Return(std::optional<store::EndedLease>()));
  EXPECT_EQ(admin("GET", "/v1/leases/nope").status, 404);
  http::Response r = admin("POST", "/v1/leases/nope/revoke");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(errorOf(r), "not_found");
}

TEST_F(LeasesApiTest, BulkRevokeRefusesBadBodiesWithoutTouchingTheStore) {
  EXPECT_EQ(call("POST", "/v1/leases/revoke", R"({"ticket":"CHG1"})",
                 {{"authorization", std::string("Bearer ") + testing::kAdminToken},
                  {"content-type", "text/plain"}})
                .status,
            415);
  for (const char* body : {"{", "[]", R"({"ticket":""})", R"({"ticket":7})", R"({"dry_run":"yes"})",
                           R"({"owner":"x"})", "{}"}) {
    http::Response r = admin("POST", "/v1/leases/revoke", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(errorOf(r), "invalid_request") << body;
  }
}

TEST_F(LeasesApiTest, BulkRevokeDryRunListsWithoutEnding) {
  EXPECT_CALL(store_, listLeases(AllOf(Field(&store::LeaseFilter::subject, "ci"),
                                       Field(&store::LeaseFilter::state, store::LeaseState::kActive))))
      .WillOnce(Return(std::vector<store::LeaseRow>{row("L1")}));
  http::Response r = admin("POST", "/v1/leases/revoke", R"({"subject":"ci","dry_run":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = boost::json::parse(r.body).as_object();
  EXPECT_EQ(o.at("count").as_int64(), 1);
  EXPECT_EQ(o.at("dry_run").as_bool(), true);
}

}  // namespace
}  // namespace jitb::api
