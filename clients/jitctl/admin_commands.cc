// Admin views and actions: jitctl leases, jitctl revoke, jitctl tickets show.
#include <boost/json.hpp>
#include <cstdio>

#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {

constexpr const char* kLeasesHelp =
    "usage: jitctl leases [--ticket ID] [--state active|expired|revoked] [--subject S] [--json]\n"
    "  Lists leases (admin; token from JITBROKER_ADMIN_TOKEN_FILE, or DATA_DIR/admin.token).\n";
constexpr const char* kRevokeHelp =
    "usage: jitctl revoke LEASE_ID [--json]\n  Revokes one lease (admin).\n";
constexpr const char* kTicketsHelp =
    "usage: jitctl tickets show ID [--json]\n  Prints the normalised ticket, its source record (ServiceNow table and sys_id, Jira\n  issue id) and its leases.\n";

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : v.is_null() ? "-" : json::serialize(v);
}

void printLease(const json::object& l) {
  std::printf("%-28s %-11s %-8s %-14s %-24s %s\n", str(l.at("id")).c_str(),
              str(l.at("kind")).c_str(), str(l.at("state")).c_str(), str(l.at("ticket")).c_str(),
              str(l.at("expires_at")).c_str(), str(l.at("subject")).c_str());
}

bool parse(const Argv& argv, const char* help, std::set<std::string> flags, client::Args& a,
           int& code) {
  flags.insert(kGlobalFlags.begin(), kGlobalFlags.end());
  if (auto err = client::Args::parse(argv, flags, {"--json", "--help"}, a)) {
    code = usage(*err, help);
    return false;
  }
  if (a.has("--help")) {
    std::fputs(help, stdout);
    code = kOk;
    return false;
  }
  return true;
}

std::map<std::string, std::string> adminHeaders(const Context& c) {
  return {{"Authorization", "Bearer " + c.adminToken()}};
}

}  // namespace

int cmdLeases(const Argv& argv) {
  client::Args a;
  int code;
  if (!parse(argv, kLeasesHelp, {"--ticket", "--state", "--subject"}, a, code)) return code;
  Context c = Context::from(a);
  std::string query;
  for (auto [flag, key] : {std::pair{"--ticket", "ticket"}, {"--state", "state"},
                           {"--subject", "subject"}})
    if (a.has(flag)) query += std::string(query.empty() ? "?" : "&") + key + "=" +
                              client::formEncode(a.get(flag));
  json::array all;
  std::string cursor;
  for (;;) {  // follow pagination to the end
    std::string path = "/v1/leases" + query;
    if (!cursor.empty()) path += (query.empty() ? "?" : "&") + ("cursor=" + client::formEncode(cursor));
    client::HttpReply reply;
    if (int rc = c.call("GET", path, adminHeaders(c), "", reply); rc != kOk) return rc;
    json::value v = json::parse(reply.body);
    for (auto& l : v.at("leases").as_array()) all.push_back(l);
    if (v.at("next").is_null()) break;
    cursor = std::string(v.at("next").as_string());
  }
  if (c.json) {
    std::printf("%s\n", json::serialize(json::object{{"leases", all}}).c_str());
    return kOk;
  }
  std::printf("%-28s %-11s %-8s %-14s %-24s %s\n", "ID", "KIND", "STATE", "TICKET", "EXPIRES",
              "SUBJECT");
  for (const auto& l : all) printLease(l.as_object());
  return kOk;
}

int cmdRevoke(const Argv& argv) {
  client::Args a;
  int code;
  if (!parse(argv, kRevokeHelp, {}, a, code)) return code;
  if (a.positional().size() != 1) return usage("revoke takes one LEASE_ID", kRevokeHelp);
  Context c = Context::from(a);
  client::HttpReply reply;
  std::string path = "/v1/leases/" + client::formEncode(a.positional()[0]) + "/revoke";
  if (int rc = c.call("POST", path, adminHeaders(c), "", reply); rc != kOk) return rc;
  if (c.json) {
    std::printf("%s\n", reply.body.c_str());
  } else {
    json::value v = json::parse(reply.body);
    std::printf("%s %s\n", str(v.at("id")).c_str(),
                v.at("changed").as_bool() ? "revoked" : ("already " + str(v.at("state"))).c_str());
  }
  return kOk;
}

int cmdTicketsShow(const Argv& argv) {
  client::Args a;
  int code;
  if (!parse(argv, kTicketsHelp, {}, a, code)) return code;
  if (a.positional().size() != 2 || a.positional()[0] != "show")
    return usage("expected: tickets show ID", kTicketsHelp);
  Context c = Context::from(a);
  client::HttpReply reply;
  if (int rc = c.call("GET", "/v1/tickets/" + client::formEncode(a.positional()[1]),
                      adminHeaders(c), "", reply);
      rc != kOk)
    return rc;
  if (c.json) {
    std::printf("%s\n", reply.body.c_str());
    return kOk;
  }
  json::object t = json::parse(reply.body).as_object();
  json::array leases = t["leases"].as_array();
  t.erase("leases");
  t.erase("leases_truncated");
  // Where the ticket came from, as a reader of the ITSM system would look it up.
  if (auto* src = t.if_contains("source"); src && src->is_object()) {
    const json::object& so = src->as_object();
    std::string where = str(so.at("system"));
    if (auto* table = so.if_contains("table")) where += " " + str(*table);
    if (auto* id = so.if_contains("record_id")) where += " " + str(*id);
    *src = where;
  }
  for (const auto& kv : t) std::printf("%-13s %s\n", std::string(kv.key()).c_str(), str(kv.value()).c_str());
  std::printf("\nleases: %zu\n", leases.size());
  for (const auto& l : leases) printLease(l.as_object());
  return kOk;
}

}  // namespace jitb::jitctl
