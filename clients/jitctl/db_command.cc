// jitctl db: a PostgreSQL login for the life of one command. The broker makes a role for the
// lease; CMD (psql by default) runs with PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD set; the
// lease is revoked (POST /v1/revoke with the password: holding it is enough) when CMD ends,
// which ends its sessions too, and jitctl exits with CMD's own code.

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "broker/core/duration.h"
#include "clients/jitctl/child.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"
#include "clients/jitctl/subject_token.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {

constexpr const char* kHelp =
    "usage: jitctl db --ticket ID [--grant G] [--ttl 1h] [-- CMD ...]\n"
    "  Asks the broker for a PostgreSQL login (POST /v1/database/credentials), runs CMD\n"
    "  (default: psql) with PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD set, forwards\n"
    "  SIGINT/SIGTERM/SIGHUP/SIGQUIT to it, revokes the login when CMD ends (its sessions end\n"
    "  with it), and exits with CMD's exit code (128+N when a signal N ended it).\n";

std::string text(const json::object& o, const char* k) {
  const json::value* v = o.if_contains(k);
  if (!v) return "";
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

}  // namespace

int cmdDb(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kHelp, {"--ticket", "--grant", "--ttl"}, {}, a, code, /*json=*/false,
                 /*short_help=*/false))
    return code;
  if (!a.has("--ticket")) return usage("--ticket is required", kHelp);
  json::object body{{"ticket", a.get("--ticket")}};
  if (a.has("--grant")) body["grant"] = a.get("--grant");
  if (a.has("--ttl")) {
    auto d = core::parseDuration(a.get("--ttl"));
    if (!d || d->count() < 1000) return usage("--ttl must be a duration such as 1h", kHelp);
    body["ttl"] = d->count() / 1000;
  }
  auto subject = findSubjectToken(a);
  if (!subject.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", subject.status().message().c_str());
    return kUsage;
  }
  Context c = Context::from(a);
  client::HttpReply reply;
  if (int rc = c.call("POST", "/v1/database/credentials",
                      {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + *subject}},
                      json::serialize(body), reply);
      rc != kOk)
    return rc;
  json::error_code ec;
  json::value parsed = json::parse(reply.body, ec);
  if (ec || !parsed.is_object()) {
    std::fprintf(stderr, "jitctl: the broker's answer is not a JSON object\n");
    return kFailure;
  }
  const json::object& cred = parsed.as_object();
  const std::string password = text(cred, "password");

  std::vector<std::string> cmd = a.rest();
  if (cmd.empty()) cmd.push_back("psql");
  const int exit_code = runForwardingSignals(cmd, {{"PGHOST", text(cred, "host")},
                                                   {"PGPORT", text(cred, "port")},
                                                   {"PGDATABASE", text(cred, "database")},
                                                   {"PGUSER", text(cred, "username")},
                                                   {"PGPASSWORD", password}});
  // Revoke whatever happened to the command: the login must not outlive it.
  client::HttpReply revoked;
  int rc = c.call("POST", "/v1/revoke", {{"Content-Type", "application/x-www-form-urlencoded"}},
                  "token=" + client::formEncode(password), revoked);
  if (rc != kOk)
    std::fprintf(stderr, "jitctl: the login could not be revoked; it ends with its lease (%s)\n",
                 text(cred, "valid_until").c_str());
  return exit_code;
}

}  // namespace jitb::jitctl
