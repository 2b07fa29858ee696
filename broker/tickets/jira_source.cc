#include "broker/tickets/jira_source.h"

#include <boost/json.hpp>

#include "broker/core/encoding.h"

namespace jitb::tickets::jira {

namespace json = boost::json;

namespace {

constexpr int kMaxPages = 100;

core::StatusOr<json::object> parseObject(const HttpAnswer& a, const std::string& what) {
  json::error_code ec;
  json::value v = json::parse(a.body, ec);
  if (ec || !v.is_object()) return core::unavailable("jira " + what + ": the answer is not a JSON object");
  return std::move(v.as_object());
}

}  // namespace

Source::Source(Settings settings, std::shared_ptr<ItsmHttp> http)
    : s_(std::move(settings)), http_(std::move(http)) {
  while (!s_.base_url.empty() && s_.base_url.back() == '/') s_.base_url.pop_back();
}

core::StatusOr<HttpAnswer> Source::get(const std::string& path) {
  std::string auth = s_.auth == "bearer" ? "Bearer " + s_.token : basicAuth(s_.user, s_.token);
  return http_->send({"GET", s_.base_url + path, {{"Authorization", auth}, {"Accept", "application/json"}}, ""});
}

core::StatusOr<std::vector<Approval>> Source::approvals(const std::string& key) {
  std::vector<Approval> out;
  int start = 0;
  for (int page = 0; page < kMaxPages; ++page) {
    auto r = get("/rest/servicedeskapi/request/" + key + "/approval?start=" + std::to_string(start) +
                 "&limit=50");
    if (!r.ok())
      return core::Status(core::Code::kUnavailable, "jira approvals of " + key + ": " + r.status().message(),
                          r.status().detail());
    // Not a service desk request: it has no approvals to wait for.
    if (r->status == 404) return out;
    if (r->status != 200)
      return core::unavailable("jira approvals of " + key + " answered HTTP " + std::to_string(r->status));
    auto o = parseObject(*r, "approvals of " + key);
    if (!o.ok()) return o.status();
    const json::value* values = o->if_contains("values");
    if (!values || !values->is_array()) return core::unavailable("jira approvals of " + key + ": no 'values'");
    for (const auto& v : values->as_array())
      if (v.is_object()) out.push_back(parseApproval(v.as_object(), s_.mapping.identity));
    const json::value* last = o->if_contains("isLastPage");
    if (!last || !last->is_bool() || last->as_bool() || values->as_array().empty()) return out;
    start += static_cast<int>(values->as_array().size());
  }
  return core::unavailable("jira approvals of " + key + ": too many pages");
}

core::StatusOr<FetchResult> Source::fetch(const std::vector<std::string>& ids) {
  FetchResult out;
  for (const auto& key : ids) {
    if (!owns(key)) continue;  // ownsKey() also keeps the key safe inside a URL path
    auto r = get("/rest/api/2/issue/" + key + "?fields=" + core::percentEncode(fieldsFor(s_.mapping)));
    if (!r.ok())
      return core::Status(core::Code::kUnavailable, "jira issue " + key + ": " + r.status().message(),
                          r.status().detail());
    if (r->status == 404) {
      out.missing.push_back(key);
      continue;
    }
    if (r->status != 200)
      return core::unavailable("jira issue " + key + " answered HTTP " + std::to_string(r->status));
    auto issue = parseObject(*r, "issue " + key);
    if (!issue.ok()) return issue.status();
    auto a = approvals(key);
    if (!a.ok()) return a.status();
    auto t = toTicket(s_.mapping, *issue, *a);
    if (t.ok() && t->id != key) t = core::invalidArgument("jira answered issue " + t->id + " for " + key);
    if (t.ok()) out.found.push_back(std::move(*t));
    else out.unreadable.emplace_back(key, t.status().message());
  }
  return out;
}

}  // namespace jitb::tickets::jira
