#include "broker/http/router.h"

#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/url_view.hpp>

#include "broker/http/errors.h"

namespace jitb::http {

namespace {
std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool isCapture(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}
}  // namespace

Responder::Responder(std::function<void(Response)> send, core::Offload offload)
    : s_(std::make_shared<State>()) {
  s_->send = std::move(send);
  s_->offload = std::move(offload);
}

void Responder::operator()(Response r) const {
  if (!s_->answered.exchange(true)) s_->send(std::move(r));
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  // A plain handler may block: it runs where the responder offloads to, never inline.
  addAsync(std::move(method), std::move(pattern),
           [h = std::make_shared<const Handler>(std::move(handler))](Request& req,
                                                                      const Responder& respond) {
             respond.offload([h, req = std::move(req), respond]() mutable {
               try {
                 respond((*h)(req));
               } catch (const std::exception&) {
                 // Handlers return statuses; reaching here is a bug. Answer, never crash.
                 respond(errorResponse(core::internalError("unhandled exception")));
               }
             });
           });
}

void Router::addInline(std::string method, std::string pattern, Handler handler) {
  addAsync(std::move(method), std::move(pattern),
           [h = std::move(handler)](Request& req, const Responder& respond) { respond(h(req)); });
}

void Router::addAsync(std::string method, std::string pattern, AsyncHandler handler) {
  auto segments = split(pattern);
  routes_.push_back({std::move(method), std::move(pattern), std::move(segments),
                     std::move(handler)});
}

std::vector<Router::RouteName> Router::routes() const {
  std::vector<RouteName> out;
  out.reserve(routes_.size());
  for (const Route& r : routes_) out.push_back({r.method, r.pattern});
  return out;
}

Response Router::dispatch(Request& req, std::string& route) const {
  return core::awaitHere<Response>([&](auto done, core::Offload offload) {
    dispatch(req, route, Responder(std::move(done), std::move(offload)));
  });
}

void Router::dispatch(Request& req, std::string& route, const Responder& respond) const {
  auto parts = split(req.encoded_path.empty() ? req.path : req.encoded_path);
  for (auto& part : parts) {
    auto pct = boost::urls::make_pct_string_view(part);
    if (pct) part = pct->decode();
  }
  std::string allow;
  for (const Route& r : routes_) {
    if (r.segments.size() != parts.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (size_t i = 0; i < parts.size() && match; ++i) {
      if (isCapture(r.segments[i])) {
        if (parts[i].empty()) match = false;
        else params[r.segments[i].substr(1, r.segments[i].size() - 2)] = parts[i];
      } else {
        match = r.segments[i] == parts[i];
      }
    }
    if (!match) continue;
    if (r.method != req.method) {
      if (!allow.empty()) allow += ", ";
      allow += r.method;
      continue;
    }
    route = r.pattern;
    req.params = std::move(params);
    return r.handler(req, respond);
  }
  route = "unmatched";
  if (!allow.empty()) {
    Response resp = errorResponse(
        {core::Code::kMethodNotAllowed, "method " + req.method + " is not allowed on " + req.path});
    resp.headers.emplace_back("Allow", allow);
    return respond(std::move(resp));
  }
  respond(errorResponse(core::notFound("no route for " + req.method + " " + req.path)));
}

core::Status parseTarget(std::string_view target, Request& req) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return core::invalidArgument("malformed request target");
  boost::urls::url_view u = *parsed;
  req.path = u.path();
  req.encoded_path = u.encoded_path();
  if (req.path.empty()) req.path = req.encoded_path = "/";
  req.query.clear();
  for (auto p : u.params()) req.query[p.key] = p.has_value ? p.value : std::string();
  return core::okStatus();
}

}  // namespace jitb::http
