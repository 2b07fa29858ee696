#include "broker/tickets/jira_map.h"

#include <algorithm>
#include <boost/json.hpp>

#include "broker/core/duration.h"
#include "broker/tickets/servicenow_map.h"

namespace jitb::tickets::jira {

namespace json = boost::json;

namespace {

const json::object* obj(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::optional<core::TimePoint> parseTime(std::string_view s) {
  if (s.size() == 10) return core::parseRfc3339(std::string(s) + "T00:00:00Z");
  // Jira writes offsets without a colon (+0700); RFC 3339 wants +07:00.
  if (s.size() >= 5 && (s[s.size() - 5] == '+' || s[s.size() - 5] == '-')) {
    std::string fixed(s);
    fixed.insert(fixed.size() - 2, ":");
    return core::parseRfc3339(fixed);
  }
  return core::parseRfc3339(s);
}

std::vector<std::string> listValue(const json::value& v) {
  if (v.is_string()) return servicenow::splitList(v.as_string());
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const auto& e : v.as_array()) {
    std::string s;
    if (e.is_string()) s = std::string(e.as_string());
    else if (e.is_object()) s = !str(e.as_object(), "value").empty() ? str(e.as_object(), "value")
                                                                      : str(e.as_object(), "name");
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

std::string person(const json::value& user, const std::string& identity) {
  return user.is_object() ? str(user.as_object(), identity) : std::string();
}

Approval parseApproval(const json::object& a, const std::string& identity) {
  Approval out;
  out.final_decision = str(a, "finalDecision");
  if (const json::object* done = obj(a, "completedDate"))
    if (auto* ms = done->if_contains("epochMillis"); ms && ms->is_int64())
      out.completed = core::TimePoint(std::chrono::milliseconds(ms->as_int64()));
  if (auto* list = a.if_contains("approvers"); list && list->is_array())
    for (const auto& e : list->as_array()) {
      if (!e.is_object() || str(e.as_object(), "approverDecision") != "approved") continue;
      const json::value* u = e.as_object().if_contains("approver");
      if (std::string who = u ? person(*u, identity) : ""; !who.empty()) {
        out.approved_by.push_back(who);
        out.approved_by_ids.push_back(person(*u, "accountId"));
      }
    }
  return out;
}

bool ownsKey(const Mapping& m, std::string_view key) {
  size_t dash = key.find('-');
  if (dash == std::string_view::npos || dash + 1 >= key.size() || key.size() > 64) return false;
  for (char c : key.substr(dash + 1))
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return std::find(m.project_keys.begin(), m.project_keys.end(), key.substr(0, dash)) !=
         m.project_keys.end();
}

core::StatusOr<Ticket> toTicket(const Mapping& m, const json::object& issue,
                                const std::vector<Approval>& approvals) {
  Ticket t;
  t.id = str(issue, "key");
  t.source_system = "jira";
  t.source_record_id = str(issue, "id");
  const json::object* f = obj(issue, "fields");
  if (!ownsKey(m, t.id) || !f) return core::invalidArgument("jira: not an issue of a configured project");
  auto updated = parseTime(str(*f, "updated"));
  if (!updated) return core::invalidArgument("jira: " + t.id + " has no 'updated' time");
  t.updated_at = *updated;

  const json::object* status = obj(*f, "status");
  std::string status_id = status ? str(*status, "id") : "";
  if (auto it = m.status_map.find(status_id); it != m.status_map.end()) {
    t.state = it->second;
  } else {
    const json::object* cat = status ? obj(*status, "statusCategory") : nullptr;
    std::string key = cat ? str(*cat, "key") : "";
    t.state = key == "done" ? "closed" : key == "indeterminate" ? "approved" : "pending";
  }
  for (const auto& a : approvals) {
    if (a.completed && *a.completed > t.updated_at) t.updated_at = *a.completed;
    for (size_t i = 0; i < a.approved_by.size(); ++i) {
      // The same account (or, without one, the same name) in two approvals is one approver.
      const std::string& who = a.approved_by[i];
      const std::string id = i < a.approved_by_ids.size() ? a.approved_by_ids[i] : "";
      bool seen = false;
      for (size_t j = 0; j < t.approved_by.size(); ++j)
        seen |= id.empty() ? t.approved_by[j] == who : t.approved_by_ids[j] == id;
      if (seen) continue;
      t.approved_by.push_back(who);
      t.approved_by_ids.push_back(id);
    }
  }
  // Every approval must have ended approved; one declined ends the request.
  if (t.state == "approved")
    for (const auto& a : approvals) {
      if (a.final_decision == "declined") t.state = "rejected";
      else if (a.final_decision != "approved" && t.state == "approved") t.state = "pending";
    }

  const json::object* type = obj(*f, "issuetype");
  auto kind = m.kind_map.find(type ? str(*type, "id") : "");
  t.kind = kind == m.kind_map.end() ? "normal" : kind->second;
  const json::value* reporter = f->if_contains("reporter");
  t.requested_by = reporter ? person(*reporter, m.identity) : "";
  if (t.requested_by.empty()) t.requested_by = "unknown";
  // accountId is Jira's immutable id: separation of duties compares it too, so a reporter who
  // changed their e-mail address (identity: emailAddress) cannot approve their own request.
  t.requested_by_id = reporter ? person(*reporter, "accountId") : "";
  if (auto* v = f->if_contains(m.subjects_field)) t.subjects = listValue(*v);
  if (auto* v = f->if_contains(m.access_field)) t.access = listValue(*v);
  auto start = parseTime(str(*f, m.window_start_field));
  auto end = parseTime(str(*f, m.window_end_field));
  return finishSourced(std::move(t), start, end);
}

std::string fieldsFor(const Mapping& m) {
  std::string out = "status,issuetype,reporter,updated";
  for (const auto& x : {m.subjects_field, m.access_field, m.window_start_field, m.window_end_field})
    if (!x.empty()) out += "," + x;
  return out;
}

}  // namespace jitb::tickets::jira
