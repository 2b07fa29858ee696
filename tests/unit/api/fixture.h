// The API handlers over a mock store: the real lease manager (never started: no timer) and
// ticket service sit between, so a store failure reaches the handler as it would in the broker.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "broker/api/admin.h"
#include "broker/http/router.h"
#include "broker/leases/lease_manager.h"
#include "broker/tickets/service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_store.h"
#include "tests/unit/tickets/mock_lease_review.h"

namespace jitb::testing {

class NullAudit final : public audit::AuditSink {
 public:
  core::Status appendAll(std::vector<audit::Record>) override { return core::okStatus(); }
};

// The "error" member of a JSON error body ("" when the body is not one).
inline std::string errorOf(const http::Response& r) {
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) return "";
  return std::string(v.as_object().at("error").as_string());
}

inline constexpr char kAdminToken[] = "admin-token-0123456789abcdef0123456789";

class ApiFixture : public ::testing::Test {
 protected:
  // `headers` are lower-case names; a JSON body gets its content type unless one is given.
  http::Response call(const std::string& method, const std::string& target, std::string body = "",
                      std::map<std::string, std::string> headers = {}) {
    http::Request req;
    req.method = method;
    EXPECT_TRUE(http::parseTarget(target, req).ok()) << target;
    req.body = std::move(body);
    req.headers = std::move(headers);
    std::string route;
    return router_.dispatch(req, route);
  }
  http::Response admin(const std::string& method, const std::string& target, std::string body = "") {
    return call(method, target, std::move(body),
                {{"authorization", std::string("Bearer ") + kAdminToken},
                 {"content-type", "application/json"}});
  }
  static int64_t ms(core::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }

  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
  ::testing::StrictMock<MockStore> store_;
  NullAudit audit_;
  metrics::Registry metrics_;
  ::testing::NiceMock<MockLeaseReview> review_;
  api::AdminAuth admin_{kAdminToken};
  leases::LeaseManager leases_{store_, audit_, clock_, leases::Quotas{}, metrics_};
  tickets::TicketService tickets_{store_, leases_, review_, audit_, clock_};
  http::Router router_;
};

}  // namespace jitb::testing
