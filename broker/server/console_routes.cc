#include "broker/server/console_routes.h"

#include <string_view>
#include <utility>
#include <vector>

#include "broker/http/errors.h"

namespace jitb::server {

extern const std::vector<std::pair<std::string_view, std::string_view>> kConsoleAssets;

namespace {

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

std::string_view contentType(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  return "application/octet-stream";
}

http::Response asset(std::string_view name) {
  for (const auto& [file, body] : kConsoleAssets) {
    if (file != name) continue;
    http::Response r;
    r.content_type = contentType(name);
    r.body = std::string(body);
    r.headers.emplace_back("Content-Security-Policy", kCsp);
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  return http::errorResponse(core::notFound("no console file " + std::string(name)));
}

}  // namespace

void addConsoleRoutes(http::Router& router) {
  router.addInline("GET", "/ui/", [](http::Request&) { return asset("index.html"); });
  router.addInline("GET", "/ui/{file}",
                   [](http::Request& req) { return asset(req.params["file"]); });
}

}  // namespace jitb::server
