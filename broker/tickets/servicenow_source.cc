#include "broker/tickets/servicenow_source.h"

#include <boost/json.hpp>
#include <map>
#include <set>

#include "broker/core/encoding.h"

namespace jitb::tickets::servicenow {

namespace json = boost::json;

namespace {

constexpr int kMaxPages = 1000;  // a runaway Link chain ends here

bool isSysId(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Only such values go into an encoded query, so a value can never add a ^ clause.
bool isNumber(std::string_view id, std::string_view prefix) {
  if (id.size() <= prefix.size() || id.size() > 40 || id.rfind(prefix, 0) != 0) return false;
  for (char c : id.substr(prefix.size()))
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// ServiceNow's error body: {"error": {"message", "detail"}, "status": "failure"}.
std::string errorText(const HttpAnswer& a) {
  json::error_code ec;
  json::value v = json::parse(a.body, ec);
  std::string msg = "HTTP " + std::to_string(a.status);
  if (!ec && v.is_object())
    if (auto* e = v.as_object().if_contains("error"); e && e->is_object())
      if (auto* m = e->as_object().if_contains("message"); m && m->is_string())
        msg += ": " + std::string(m->as_string()).substr(0, 200);
  return msg;
}

}  // namespace

Source::Source(Settings settings, std::shared_ptr<ItsmHttp> http, const core::Clock& clock)
    : s_(std::move(settings)), http_(std::move(http)), clock_(clock) {
  while (!s_.base_url.empty() && s_.base_url.back() == '/') s_.base_url.pop_back();
}

const TableMapping* Source::tableFor(std::string_view id) const {
  for (const auto& t : s_.tables)
    if (isNumber(id, t.prefix)) return &t;
  return nullptr;
}

bool Source::owns(std::string_view id) const { return tableFor(id) != nullptr; }

core::StatusOr<std::string> Source::authorization(bool renew) {
  if (s_.auth == "basic") return basicAuth(s_.user, s_.password);
  std::lock_guard lk(mu_);
  if (!renew && !access_token_.empty() && clock_.now() + std::chrono::seconds(30) < token_expiry_)
    return "Bearer " + access_token_;
  auto form = [](std::initializer_list<std::pair<const char*, std::string>> kv) {
    std::string out;
    for (const auto& [k, v] : kv) out += (out.empty() ? "" : "&") + std::string(k) + "=" + core::percentEncode(v);
    return out;
  };
  // The refresh token first; when it has expired or was revoked, the configured grant.
  for (bool with_refresh = !refresh_token_.empty();; with_refresh = false) {
    std::string body;
    if (with_refresh)
      body = form({{"grant_type", "refresh_token"}, {"client_id", s_.client_id},
                   {"client_secret", s_.client_secret}, {"refresh_token", refresh_token_}});
    else if (s_.auth == "oauth_password")
      body = form({{"grant_type", "password"}, {"client_id", s_.client_id},
                   {"client_secret", s_.client_secret}, {"username", s_.user}, {"password", s_.password}});
    else
      body = form({{"grant_type", "client_credentials"}, {"client_id", s_.client_id},
                   {"client_secret", s_.client_secret}});
    HttpCall call{"POST", s_.base_url + "/oauth_token.do",
                  {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}},
                  body};
    auto r = http_->send(call);
    if (!r.ok()) return r.status();
    json::error_code ec;
    json::value v = json::parse(r->body, ec);
    const json::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
    const json::value* tok = o ? o->if_contains("access_token") : nullptr;
    if (r->status != 200 || !tok || !tok->is_string()) {
      refresh_token_.clear();
      if (with_refresh) continue;
      return core::unavailable("servicenow refused the OAuth token request (HTTP " +
                               std::to_string(r->status) + ")");
    }
    access_token_ = std::string(tok->as_string());
    if (auto* rt = o->if_contains("refresh_token"); rt && rt->is_string())
      refresh_token_ = std::string(rt->as_string());
    int64_t expires = 1800;
    if (auto* e = o->if_contains("expires_in")) {
      if (e->is_int64()) expires = e->as_int64();
      else if (e->is_string()) expires = std::atoll(std::string(e->as_string()).c_str());
    }
    token_expiry_ = clock_.now() + std::chrono::seconds(std::max<int64_t>(expires, 60));
    return "Bearer " + access_token_;
  }
}

core::StatusOr<HttpAnswer> Source::get(const std::string& url) {
  // An expired or revoked OAuth token gets one renewal; Basic credentials that fail stay failed.
  for (int attempt = 0;; ++attempt) {
    auto auth = authorization(attempt > 0);
    if (!auth.ok()) return auth.status();
    auto r = http_->send({"GET", url, {{"Authorization", *auth}, {"Accept", "application/json"}}, ""});
    if (!r.ok() || r->status != 401 || s_.auth == "basic" || attempt > 0) return r;
  }
}

core::StatusOr<std::vector<json::object>> Source::query(const std::string& table,
                                                       const std::string& sysparm_query,
                                                       const std::string& fields) {
  std::string url = s_.base_url + "/api/now/table/" + table +
                    "?sysparm_query=" + core::percentEncode(sysparm_query) +
                    "&sysparm_fields=" + core::percentEncode(fields) +
                    "&sysparm_display_value=false&sysparm_exclude_reference_link=true" +
                    "&sysparm_limit=" + std::to_string(s_.page_size);
  const std::string origin = urlOrigin(s_.base_url);
  std::vector<json::object> rows;
  for (int page = 0; page < kMaxPages; ++page) {
    auto r = get(url);
    if (!r.ok())
      return core::Status(core::Code::kUnavailable, "servicenow " + table + ": " + r.status().message(),
                          r.status().detail());
    if (r->status != 200)
      return core::unavailable("servicenow " + table + " answered " + errorText(*r));
    json::error_code ec;
    json::value v = json::parse(r->body, ec);
    const json::value* res = !ec && v.is_object() ? v.as_object().if_contains("result") : nullptr;
    if (!res || !res->is_array())
      return core::unavailable("servicenow " + table + " answered something other than {\"result\": [...]}");
    for (const auto& row : res->as_array())
      if (row.is_object()) rows.push_back(row.as_object());
    auto link = r->headers.find("link");
    std::optional<std::string> next = link == r->headers.end() ? std::nullopt : linkNext(link->second);
    if (!next) return rows;
    // Credentials go only to the configured instance.
    if (urlOrigin(*next) != origin)
      return core::unavailable("servicenow " + table + ": a Link header points off the instance");
    url = *next;
  }
  return core::unavailable("servicenow " + table + ": more than " + std::to_string(kMaxPages) + " pages");
}

core::StatusOr<FetchResult> Source::fetch(const std::vector<std::string>& ids) {
  FetchResult out;
  std::map<const TableMapping*, std::vector<std::string>> by_table;
  for (const auto& id : ids)
    if (const TableMapping* t = tableFor(id)) by_table[t].push_back(id);
  for (const auto& [table, numbers] : by_table) {
    auto records = query(table->table, "numberIN" + joined(numbers), fieldsFor(*table));
    if (!records.ok()) return records.status();
    // Only records asked for count: a query part the instance dropped must not widen this.
    std::map<std::string, json::object> by_number;
    std::vector<std::string> sys_ids;
    std::set<std::string> people;
    for (auto& rec : *records) {
      std::string number = field(rec, "number"), sys_id = field(rec, "sys_id");
      if (std::find(numbers.begin(), numbers.end(), number) == numbers.end() || !isSysId(sys_id))
        continue;
      sys_ids.push_back(sys_id);
      for (const char* f : {"requested_by", "requested_for"})
        if (std::string p = field(rec, f); isSysId(p)) people.insert(p);
      by_number.emplace(number, std::move(rec));
    }
    std::map<std::string, std::vector<ApprovalRow>> approvals;
    if (!sys_ids.empty()) {
      auto rows = query("sysapproval_approver", "sysapprovalIN" + joined(sys_ids),
                        "sysapproval,approver,state,sys_updated_on");
      if (!rows.ok()) return rows.status();
      for (const auto& row : *rows) {
        ApprovalRow a{field(row, "approver"), field(row, "state"), parseTime(field(row, "sys_updated_on"))};
        if (isSysId(a.approver)) people.insert(a.approver);
        approvals[field(row, "sysapproval")].push_back(std::move(a));
      }
    }
    std::map<std::string, std::string> names;
    if (s_.identity_field != "sys_id" && !people.empty()) {
      auto users = query("sys_user", "sys_idIN" + joined({people.begin(), people.end()}),
                         "sys_id," + s_.identity_field);
      if (!users.ok()) return users.status();
      for (const auto& u : *users)
        if (std::string n = field(u, s_.identity_field); !n.empty()) names[field(u, "sys_id")] = n;
    }
    auto person = [&names](const std::string& id) {
      auto it = names.find(id);
      return it == names.end() ? id : it->second;
    };
    for (const auto& number : numbers) {
      auto it = by_number.find(number);
      if (it == by_number.end()) {
        out.missing.push_back(number);
        continue;
      }
      auto t = toTicket(*table, it->second, approvals[field(it->second, "sys_id")], person);
      if (t.ok()) out.found.push_back(std::move(*t));
      else out.unreadable.emplace_back(number, t.status().message());
    }
  }
  return out;
}

}  // namespace jitb::tickets::servicenow
