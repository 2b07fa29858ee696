// Plain request/response values that handlers see. No Beast types cross this line, so
// handlers are ordinary functions that unit tests call directly.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jitb::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded path, no query
  std::string encoded_path;  // as sent; routing splits this so "%2F" stays inside a segment
  std::map<std::string, std::string> query;   // decoded query parameters (last one wins)
  std::map<std::string, std::string> params;  // path parameters from the route, e.g. {id}
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string peer;           // "ip:port"
  std::string peer_cert_der;  // client certificate (verified by the TLS layer), if presented

  // Empty when absent. `name` must be lower-case.
  std::string_view header(std::string_view name) const {
    auto it = headers.find(std::string(name));
    return it == headers.end() ? std::string_view{} : std::string_view(it->second);
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For the access log only: the authenticated caller, when a handler knows it.
  std::string subject;
  // For the access log only: the policy rule that denied the request (issuing sets it), and
  // the error code of an error body (set where such bodies are built, never parsed back).
  std::string rule;
  std::string error;
};

}  // namespace jitb::http
