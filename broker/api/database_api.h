// The wire adapter of database credentials: POST /v1/database/credentials (JSON
// {"ticket", "grant"?, "ttl"?}, Bearer subject JWT) -> 201 {"username", "password", "host",
// "port", "database", "valid_until", "lease_id"}. Work runs on the responder's offload: the
// role is created on the database before the answer. Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "broker/core/status.h"
#include "broker/http/message.h"
#include "broker/http/router.h"
#include "broker/issuing/service.h"

namespace jitb::api {

struct DatabaseCredentialsBody {
  std::string ticket, grant;
  std::optional<std::chrono::seconds> ttl;
};

// InvalidArgument for a field of the wrong type, a missing ticket or a ttl that is not a
// positive whole number of seconds.
core::StatusOr<DatabaseCredentialsBody> parseDatabaseCredentialsRequest(
    const boost::json::object& body);

class DatabaseApi {
 public:
  explicit DatabaseApi(issuing::IssuanceService& service) : service_(service) {}
  void issue(http::Request& req, const http::Responder& respond);
  void addRoutes(http::Router& router);

 private:
  issuing::IssuanceService& service_;
};

}  // namespace jitb::api
