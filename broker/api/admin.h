// The admin bearer token (data_dir/admin.token), compared in constant time.
#pragma once

#include <optional>
#include <string>

#include "broker/http/message.h"

namespace jitb::api {

class AdminAuth {
 public:
  explicit AdminAuth(std::string token) : token_(std::move(token)) {}
  // An error response (401 with WWW-Authenticate) unless the request carries the admin token.
  std::optional<http::Response> check(const http::Request& req) const;

 private:
  std::string token_;
};

}  // namespace jitb::api
