#include "broker/tickets/servicenow_map.h"

#include <algorithm>
#include <boost/json.hpp>

#include "broker/core/duration.h"

namespace jitb::tickets::servicenow {

namespace json = boost::json;

namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void addAll(std::vector<std::string>& to, const std::vector<std::string>& from) {
  for (const auto& s : from)
    if (!contains(to, s)) to.push_back(s);
}

}  // namespace

std::vector<TableMapping> defaultTables() {
  TableMapping chg;
  chg.table = "change_request";
  chg.prefix = "CHG";
  chg.window_start_field = "start_date";
  chg.window_end_field = "end_date";
  // Scheduled (-2) and Implement (-1): past authorisation, not yet in Review.
  chg.usable_states = {"-2", "-1"};
  chg.closed_states = {"3"};
  chg.canceled_states = {"4"};
  TableMapping ritm;
  ritm.table = "sc_req_item";
  ritm.prefix = "RITM";
  ritm.kind = "standard";  // catalog items are pre-approved request types
  ritm.standing = true;
  ritm.window_start_field = "opened_at";
  ritm.window_end_field = "u_jit_window_end";
  ritm.usable_states = {"1", "2"};  // Open, Work in Progress
  ritm.closed_states = {"3"};       // Closed Complete
  ritm.canceled_states = {"4", "7"};  // Closed Incomplete, Closed Skipped
  return {chg, ritm};
}

std::optional<core::TimePoint> parseTime(std::string_view s) {
  // Exactly "YYYY-MM-DD HH:MM:SS" in UTC: anything else (a display value in a user's format
  // or timezone) is refused rather than guessed at.
  if (s.size() != 19 || s[10] != ' ') return std::nullopt;
  std::string rfc(s);
  rfc[10] = 'T';
  return core::parseRfc3339(rfc + "Z");
}

std::string refValue(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (!v.is_object()) return {};
  auto it = v.as_object().find("value");
  return it != v.as_object().end() && it->value().is_string() ? std::string(it->value().as_string())
                                                              : std::string();
}

std::string field(const json::object& rec, std::string_view name) {
  auto it = rec.find(name);
  if (it == rec.end()) return {};
  return it->value().is_string() ? std::string(it->value().as_string()) : refValue(it->value());
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find_first_of(",\n", i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view part = text.substr(i, j - i);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\r' || part.front() == '\t'))
      part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\r' || part.back() == '\t'))
      part.remove_suffix(1);
    if (!part.empty() && !contains(out, part)) out.emplace_back(part);
    i = j + 1;
  }
  return out;
}

std::string mapState(const TableMapping& m, std::string_view state, std::string_view approval,
                     std::string_view on_hold) {
  if (contains(m.closed_states, state)) return "closed";
  if (contains(m.canceled_states, state)) return "canceled";
  if (approval == "rejected") return "rejected";
  if (approval == "approved" && contains(m.usable_states, state) && on_hold != "true")
    return "approved";
  return "pending";
}

core::StatusOr<Ticket> toTicket(const TableMapping& m, const json::object& rec,
                                const std::vector<ApprovalRow>& approvals,
                                const std::function<std::string(const std::string&)>& person) {
  Ticket t;
  t.id = field(rec, "number");
  t.source_system = "servicenow";
  t.source_table = m.table;
  t.source_record_id = field(rec, "sys_id");
  if (t.id.rfind(m.prefix, 0) != 0)
    return core::invalidArgument("servicenow: record number '" + t.id + "' is not a " + m.table);
  auto updated = parseTime(field(rec, "sys_updated_on"));
  if (!updated) return core::invalidArgument("servicenow: " + t.id + " has no sys_updated_on");
  t.updated_at = *updated;
  t.state = mapState(m, field(rec, "state"), field(rec, "approval"), field(rec, "on_hold"));
  t.kind = m.kind;
  if (t.kind.empty()) {
    std::string type = field(rec, "type");
    t.kind = type == "standard" || type == "emergency" ? type : "normal";
  }
  std::string requester = field(rec, "requested_by");
  if (requester.empty()) requester = field(rec, "requested_for");
  t.requested_by = requester.empty() ? "unknown" : person(requester);
  // The sys_ids as well as the names: separation of duties compares both, so a requester whose
  // e-mail address or user_name changed still cannot approve their own change.
  t.requested_by_id = requester;
  for (const auto& a : approvals) {
    // An approval row that changed after the record still changes the ticket.
    if (a.updated_at && *a.updated_at > t.updated_at) t.updated_at = *a.updated_at;
    if (a.state != "approved" || a.approver.empty()) continue;
    if (contains(t.approved_by_ids, a.approver)) continue;  // one person, one approval
    t.approved_by.push_back(person(a.approver));
    t.approved_by_ids.push_back(a.approver);
  }
  t.subjects = splitList(field(rec, m.subjects_field));
  t.access = splitList(field(rec, m.access_field));
  for (const auto& [map, key] : {std::pair{&m.by_group, "assignment_group"}, {&m.by_ci, "cmdb_ci"}}) {
    auto it = map->find(field(rec, key));
    if (it == map->end()) continue;
    addAll(t.subjects, it->second.subjects);
    addAll(t.access, it->second.access);
  }
  auto start = parseTime(field(rec, m.window_start_field));
  auto end = parseTime(field(rec, m.window_end_field));
  if (start && !end && m.standing) end = *start + m.standing_window;
  return finishSourced(std::move(t), start, end);
}

std::string fieldsFor(const TableMapping& m) {
  std::vector<std::string> f = {"sys_id", "number", "state", "approval", "on_hold", "type",
                                "requested_by", "requested_for", "assignment_group", "cmdb_ci",
                                "sys_updated_on"};
  for (const auto& x : {m.subjects_field, m.access_field, m.window_start_field, m.window_end_field})
    if (!x.empty() && !contains(f, x)) f.push_back(x);
  std::string out;
  for (const auto& x : f) out += (out.empty() ? "" : ",") + x;
  return out;
}

}  // namespace jitb::tickets::servicenow
