#include "broker/server/reference_routes.h"

#include <boost/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/http/errors.h"

namespace jitb::server {

extern const std::vector<std::pair<std::string_view, std::string_view>> kOpenApiDocument;

std::string_view openApiDocument() { return kOpenApiDocument.front().second; }

void addReferenceRoutes(http::Router& router, const api::AdminAuth& admin) {
  router.addInline("GET", "/v1/openapi.yaml", [](http::Request&) {
    http::Response r;
    r.content_type = "application/yaml";
    r.body = std::string(openApiDocument());
    return r;
  });
  router.addInline("GET", "/v1/routes", [&router, &admin](http::Request& req) {
    if (auto denied = admin.check(req)) return *denied;
    boost::json::array routes;
    for (const auto& r : router.routes())
      routes.push_back(boost::json::object{{"method", r.method}, {"pattern", r.pattern}});
    return http::jsonResponse(200, {{"routes", std::move(routes)}});
  });
}

}  // namespace jitb::server
