#include "broker/server/config_itsm.h"

#include "broker/server/config_keys.h"
#include "policies/engine/ticket_state.h"

namespace jitb::server {

namespace {

bool https(const std::string& url) { return url.rfind("https://", 0) == 0 && url.size() > 8; }

void parseHttp(Checker& c, const YAML::Node& n, const std::string& where, ItsmHttpSettings& h) {
  c.path(n, "ca_file", where + ".ca_file", h.ca_file);
  c.duration(n, "timeout", where + ".timeout", h.timeout);
  c.number(n, "requests_per_second", where + ".requests_per_second", h.requests_per_second, 0, 10000);
  c.number(n, "lookup_share", where + ".lookup_share", h.lookup_share, 0, 1);
  c.integer(n, "max_attempts", where + ".max_attempts", h.max_attempts, 1, 20);
}

void parseAssignments(Checker& c, const YAML::Node& n, const std::string& where,
                      std::map<std::string, tickets::servicenow::Assignment>& out) {
  if (!n) return;
  if (!n.IsMap()) {
    c.fail(n, "'" + where + "' must map sys_ids to {subjects, access}");
    return;
  }
  for (auto it = n.begin(); it != n.end() && !c.failed(); ++it) {
    std::string w = where + "." + it->first.Scalar();
    if (!c.keys(it->second, w, keys::kSnAssignment)) return;
    tickets::servicenow::Assignment a;
    c.strings(it->second, "subjects", w + ".subjects", a.subjects);
    c.strings(it->second, "access", w + ".access", a.access);
    out[it->first.Scalar()] = std::move(a);
  }
}

void parseTables(Checker& c, const YAML::Node& n, std::vector<tickets::servicenow::TableMapping>& out) {
  if (!n.IsMap()) {
    c.fail(n, "'tickets.servicenow.tables' must map table names to their mapping");
    return;
  }
  const auto defaults = tickets::servicenow::defaultTables();
  out.clear();
  for (auto it = n.begin(); it != n.end() && !c.failed(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string w = "tickets.servicenow.tables." + name;
    tickets::servicenow::TableMapping m;
    bool known = false;
    for (const auto& d : defaults)
      if (d.table == name) m = d, known = true;
    m.table = name;
    const YAML::Node t = it->second.IsNull() ? YAML::Node(YAML::NodeType::Map) : it->second;
    if (!c.keys(t, w, keys::kSnTable))
      return;
    c.str(t, "prefix", w + ".prefix", m.prefix);
    c.str(t, "subjects_field", w + ".subjects_field", m.subjects_field);
    c.str(t, "access_field", w + ".access_field", m.access_field);
    c.str(t, "window_start_field", w + ".window_start_field", m.window_start_field);
    c.str(t, "window_end_field", w + ".window_end_field", m.window_end_field);
    c.str(t, "kind", w + ".kind", m.kind);
    c.strings(t, "usable_states", w + ".usable_states", m.usable_states);
    c.strings(t, "closed_states", w + ".closed_states", m.closed_states);
    c.strings(t, "canceled_states", w + ".canceled_states", m.canceled_states);
    if (const YAML::Node s = t["standing"]) {
      if (!s.IsScalar() || (s.Scalar() != "true" && s.Scalar() != "false")) c.fail(s, "'" + w + ".standing' must be true or false");
      else m.standing = s.Scalar() == "true";
    }
    c.duration(t, "standing_window", w + ".standing_window", m.standing_window);
    parseAssignments(c, t["by_assignment_group"], w + ".by_assignment_group", m.by_group);
    parseAssignments(c, t["by_cmdb_ci"], w + ".by_cmdb_ci", m.by_ci);
    if (c.failed()) return;
    if (!known && (m.prefix.empty() || m.usable_states.empty() || m.window_start_field.empty()))
      c.fail(t, "'" + w + "' is not a built-in table: give prefix, usable_states and window_start_field");
    else if (!m.kind.empty() && m.kind != "standard" && m.kind != "normal" && m.kind != "emergency")
      c.fail(t["kind"], "'" + w + ".kind' must be standard, normal or emergency");
    out.push_back(std::move(m));
  }
}

void parseServiceNow(Checker& c, const YAML::Node& s, Config& cfg) {
  const std::string w = "tickets.servicenow";
  if (!c.keys(s, w, keys::kServiceNow))
    return;
  ServiceNowConfig sn;
  auto& st = sn.settings;
  c.str(s, "base_url", w + ".base_url", st.base_url);
  c.str(s, "auth", w + ".auth", st.auth);
  c.str(s, "user", w + ".user", st.user);
  c.path(s, "password_file", w + ".password_file", sn.password_file);
  c.str(s, "client_id", w + ".client_id", st.client_id);
  c.path(s, "client_secret_file", w + ".client_secret_file", sn.client_secret_file);
  c.path(s, "notify_secret_file", w + ".notify_secret_file", sn.notify_secret_file);
  c.duration(s, "poll_interval", w + ".poll_interval", sn.poll_interval);
  int64_t page = static_cast<int64_t>(st.page_size);
  c.integer(s, "page_size", w + ".page_size", page, 1, 1000);
  st.page_size = static_cast<size_t>(page);
  c.str(s, "identity_field", w + ".identity_field", st.identity_field);
  parseHttp(c, s, w, sn.http);
  if (const YAML::Node t = s["tables"]; t && !c.failed()) parseTables(c, t, st.tables);
  if (c.failed()) return;
  if (!https(st.base_url)) c.fail(s, "'" + w + ".base_url' must be an https:// URL");
  else if (st.auth != "basic" && st.auth != "oauth_password" && st.auth != "oauth_client_credentials")
    c.fail(s["auth"], "'" + w + ".auth' must be basic, oauth_password or oauth_client_credentials");
  else if (st.auth != "oauth_client_credentials" && (st.user.empty() || sn.password_file.empty()))
    c.fail(s, "'" + w + "' needs user and password_file for auth " + st.auth);
  else if (st.auth != "basic" && (st.client_id.empty() || sn.client_secret_file.empty()))
    c.fail(s, "'" + w + "' needs client_id and client_secret_file for auth " + st.auth);
  else if (st.identity_field.empty()) c.fail(s["identity_field"], "'" + w + ".identity_field' must not be empty");
  else if (st.tables.empty()) c.fail(s["tables"], "'" + w + ".tables' must name at least one table");
  cfg.servicenow = std::move(sn);
}

void parseJira(Checker& c, const YAML::Node& j, Config& cfg) {
  const std::string w = "tickets.jira";
  if (!c.keys(j, w, keys::kJira))
    return;
  JiraConfig jc;
  auto& st = jc.settings;
  auto& m = st.mapping;
  c.str(j, "base_url", w + ".base_url", st.base_url);
  c.str(j, "auth", w + ".auth", st.auth);
  c.str(j, "user", w + ".user", st.user);
  c.path(j, "token_file", w + ".token_file", jc.token_file);
  c.path(j, "webhook_secret_file", w + ".webhook_secret_file", jc.webhook_secret_file);
  c.duration(j, "poll_interval", w + ".poll_interval", jc.poll_interval);
  c.strings(j, "project_keys", w + ".project_keys", m.project_keys);
  c.stringMap(j, "status_map", w + ".status_map", m.status_map);
  c.stringMap(j, "kind_map", w + ".kind_map", m.kind_map);
  c.str(j, "identity", w + ".identity", m.identity);
  parseHttp(c, j, w, jc.http);
  if (const YAML::Node f = j["fields"]; f && !c.failed()) {
    if (c.keys(f, w + ".fields", keys::kJiraFields)) {
      c.str(f, "subjects", w + ".fields.subjects", m.subjects_field);
      c.str(f, "access", w + ".fields.access", m.access_field);
      c.str(f, "window_start", w + ".fields.window_start", m.window_start_field);
      c.str(f, "window_end", w + ".fields.window_end", m.window_end_field);
    }
  }
  if (c.failed()) return;
  for (const auto& [id, state] : m.status_map)
    if (!parseTicketState(state)) {
      c.fail(j["status_map"], "'" + w + ".status_map." + id + "' must be pending, approved, rejected, closed or canceled");
      return;
    }
  for (const auto& [id, kind] : m.kind_map)
    if (kind != "standard" && kind != "normal" && kind != "emergency") {
      c.fail(j["kind_map"], "'" + w + ".kind_map." + id + "' must be standard, normal or emergency");
      return;
    }
  if (!https(st.base_url)) c.fail(j, "'" + w + ".base_url' must be an https:// URL");
  else if (st.auth != "basic" && st.auth != "bearer") c.fail(j["auth"], "'" + w + ".auth' must be basic or bearer");
  else if (jc.token_file.empty() || (st.auth == "basic" && st.user.empty()))
    c.fail(j, "'" + w + "' needs token_file (and user for basic auth)");
  else if (m.project_keys.empty()) c.fail(j, "'" + w + ".project_keys' must list at least one project");
  else if (m.subjects_field.empty() || m.access_field.empty() || m.window_start_field.empty() ||
           m.window_end_field.empty())
    c.fail(j, "'" + w + ".fields' must name the subjects, access, window_start and window_end fields");
  else if (m.identity != "accountId" && m.identity != "emailAddress")
    c.fail(j["identity"], "'" + w + ".identity' must be accountId or emailAddress");
  cfg.jira = std::move(jc);
}

}  // namespace

void parseTickets(Checker& c, const YAML::Node& n, Config& cfg) {
  if (!c.keys(n, "tickets", keys::kTickets))
    return;
  if (const YAML::Node w = n["webhook"]) {
    if (!c.keys(w, "tickets.webhook", keys::kWebhook)) return;
    c.path(w, "secret_file", "tickets.webhook.secret_file", cfg.webhook_secret_file);
  }
  c.duration(n, "max_age", "tickets.max_age", cfg.ticket_max_age);
  c.duration(n, "negative_ttl", "tickets.negative_ttl", cfg.ticket_negative_ttl);
  c.integer(n, "lookup_threads", "tickets.lookup_threads", cfg.lookup_threads, 1, 256);
  if (const YAML::Node s = n["servicenow"]; s && !c.failed()) parseServiceNow(c, s, cfg);
  if (const YAML::Node j = n["jira"]; j && !c.failed()) parseJira(c, j, cfg);
}

}  // namespace jitb::server
