// Admin views and actions: jitctl leases, lease show, revoke, reviews, tickets show.
#include <boost/json.hpp>
#include <cstdio>

#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {

constexpr const char* kLeasesHelp =
    "usage: jitctl leases [--ticket ID] [--state active|expired|revoked] [--subject S]\n"
    "                     [--grant G] [--json]\n"
    "  Lists leases (admin; token from JITBROKER_ADMIN_TOKEN_FILE, or DATA_DIR/admin.token).\n";
constexpr const char* kRevokeHelp =
    "usage: jitctl revoke LEASE_ID [--json]\n"
    "       jitctl revoke (--ticket ID | --subject S | --grant G)... [--dry-run] [--json]\n"
    "  Revokes one lease, or every active lease matching all the filters given (like\n"
    "  `vault lease revoke -prefix`); --dry-run lists what would be revoked and changes\n"
    "  nothing. Prints the lease ids (admin).\n";
constexpr const char* kLeaseShowHelp =
    "usage: jitctl lease show LEASE_ID [--json]\n"
    "  Shows one lease: kind, ticket, grant, subject, state, times, reason, jti or serial\n"
    "  (admin; like `vault token lookup`).\n";
constexpr const char* kReviewsHelp =
    "usage: jitctl reviews [--json]\n"
    "  Lists the leases issued through break-glass, waiting for review (admin).\n";
constexpr const char* kTicketsHelp =
    "usage: jitctl tickets show ID [--json]\n  Prints the normalised ticket, its source record (ServiceNow table and sys_id, Jira\n  issue id) and its leases.\n";

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : v.is_null() ? "-" : json::serialize(v);
}

constexpr const char* kLeaseRow = "%-28s %-11s %-8s %-14s %-24s %s\n";

void printLease(const json::object& l) {
  std::printf(kLeaseRow, str(l.at("id")).c_str(), str(l.at("kind")).c_str(),
              str(l.at("state")).c_str(), str(l.at("ticket")).c_str(),
              str(l.at("expires_at")).c_str(), str(l.at("subject")).c_str());
}

void printLeaseTable(const json::array& leases) {
  std::printf(kLeaseRow, "ID", "KIND", "STATE", "TICKET", "EXPIRES", "SUBJECT");
  for (const auto& l : leases) printLease(l.as_object());
}

// POST /v1/leases/revoke with the filters given.
int revokeMatching(const client::Args& a) {
  if (!a.positional().empty()) return usage("give a LEASE_ID or filters, not both", kRevokeHelp);
  Context c = Context::from(a);
  json::object body{{"dry_run", a.has("--dry-run")}};
  for (const char* f : {"--ticket", "--subject", "--grant"})
    if (a.has(f)) body[f + 2] = a.get(f);
  client::HttpReply reply;
  if (int rc = c.adminCall("POST", "/v1/leases/revoke", reply, json::serialize(body),
                           {{"Content-Type", "application/json"}});
      rc != kOk)
    return rc;
  if (c.printedRaw(reply)) return kOk;
  json::value v = json::parse(reply.body);
  const auto& ids = v.at("leases").as_array();
  for (const auto& id : ids) std::printf("%s\n", str(id).c_str());
  std::fprintf(stderr, "%zu lease%s %s\n", ids.size(), ids.size() == 1 ? "" : "s",
               a.has("--dry-run") ? "would be revoked (dry run)" : "revoked");
  return kOk;
}

// The normalised ticket, where it came from, and its leases.
int printTicket(const client::HttpReply& reply) {
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

}  // namespace

int cmdLeases(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kLeasesHelp, {"--ticket", "--state", "--subject", "--grant"}, {}, a, code))
    return code;
  Context c = Context::from(a);
  std::string query;
  for (auto [flag, key] : {std::pair{"--ticket", "ticket"},
                           {"--state", "state"},
                           {"--subject", "subject"},
                           {"--grant", "grant"}})
    if (a.has(flag)) query += std::string(query.empty() ? "?" : "&") + key + "=" +
                              client::formEncode(a.get(flag));
  json::array all;
  if (int rc = c.adminPages("/v1/leases" + query, "leases", all); rc != kOk) return rc;
  if (c.json) {
    printJson(json::object{{"leases", all}});
    return kOk;
  }
  printLeaseTable(all);
  return kOk;
}

int cmdRevoke(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kRevokeHelp, {"--ticket", "--subject", "--grant"}, {"--dry-run"}, a, code))
    return code;
  bool by_filter = a.has("--ticket") || a.has("--subject") || a.has("--grant");
  if (by_filter) return revokeMatching(a);
  if (a.has("--dry-run"))
    return usage("--dry-run goes with --ticket, --subject or --grant", kRevokeHelp);
  if (a.positional().size() != 1)
    return usage("revoke takes one LEASE_ID, or --ticket, --subject or --grant", kRevokeHelp);
  Context c = Context::from(a);
  client::HttpReply reply;
  std::string path = "/v1/leases/" + client::formEncode(a.positional()[0]) + "/revoke";
  if (int rc = c.adminCall("POST", path, reply); rc != kOk) return rc;
  if (c.printedRaw(reply)) return kOk;
  json::value v = json::parse(reply.body);
  std::printf("%s %s\n", str(v.at("id")).c_str(),
              v.at("changed").as_bool() ? "revoked" : ("already " + str(v.at("state"))).c_str());
  return kOk;
}

int cmdLease(const Argv& argv) {
  return runAdminCommand(
      argv, {kLeaseShowHelp, "expected: lease show LEASE_ID", {"show"}, 1, "GET",
             [](const Argv& ids) { return "/v1/leases/" + ids[0]; },
             [](const client::HttpReply& reply) {
               json::value lease = json::parse(reply.body);
               for (const auto& kv : lease.as_object())
                 std::printf("%-11s %s\n", std::string(kv.key()).c_str(), str(kv.value()).c_str());
               return kOk;
             }});
}

int cmdReviews(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kReviewsHelp, {}, {}, a, code)) return code;
  if (!a.positional().empty()) return usage("reviews takes no arguments", kReviewsHelp);
  Context c = Context::from(a);
  json::array all;
  if (int rc = c.adminPages("/v1/reviews", "reviews", all); rc != kOk) return rc;
  if (c.json) {
    printJson(json::object{{"reviews", all}});
    return kOk;
  }
  printLeaseTable(all);
  std::printf("%zu break-glass lease%s to review\n", all.size(), all.size() == 1 ? "" : "s");
  return kOk;
}

int cmdTicketsShow(const Argv& argv) {
  return runAdminCommand(argv, {kTicketsHelp, "expected: tickets show ID", {"show"}, 1, "GET",
                                [](const Argv& ids) { return "/v1/tickets/" + ids[0]; },
                                printTicket});
}

}  // namespace jitb::jitctl
