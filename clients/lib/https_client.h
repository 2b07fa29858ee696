// A small blocking HTTPS client for jitctl and the examples: TLS 1.2+, the server certificate
// verified against a CA file (or the system store) and the URL's host. One request per call.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "broker/core/status.h"

namespace jitb::client {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct HttpOptions {
  std::string ca_file;  // empty: the system trust store
  std::chrono::milliseconds timeout{15'000};
  std::string client_cert_file, client_key_file;  // optional mTLS
};

// Unavailable when the server cannot be reached or TLS fails (jitctl exit code 4).
core::StatusOr<HttpReply> httpsRequest(const std::string& method, const std::string& url,
                                       const std::map<std::string, std::string>& headers,
                                       const std::string& body, const HttpOptions& opts);

// application/x-www-form-urlencoded encoding of one value.
std::string formEncode(const std::string& s);

}  // namespace jitb::client
