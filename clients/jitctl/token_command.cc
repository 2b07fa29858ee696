// jitctl token: exchanges the caller's subject token and a ticket for an access token.
#include <boost/json.hpp>
#include <cstdio>

#include "broker/core/duration.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"
#include "clients/jitctl/subject_token.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {
constexpr const char* kHelp =
    "usage: jitctl token --ticket ID [--audience A] [--scope S]... [--grant G] [--ttl 10m]\n"
    "                    [--json] [--subject-token-file F]\n"
    "  Prints an access token for the ticket (RFC 8693 exchange of your own identity token).\n"
    "  --json prints the whole response (expires_in, scope, lease_id). The grant's max_ttl\n"
    "  caps --ttl: when the broker grants less than asked, jitctl says so on stderr (and\n"
    "  still exits 0). The identity token is found as `jitctl --help` describes\n"
    "  (--subject-token-file, --subject-token-env, --subject-audience).\n";
}  // namespace

const std::set<std::string> kTokenFlags = {"--ticket", "--audience", "--scope", "--grant", "--ttl"};

int requestToken(const Context& c, const client::Args& a, json::object& out) {
  if (!a.has("--ticket")) return usage("--ticket is required", kHelp);
  int64_t ttl = 0;  // seconds; 0: the grant's default
  if (a.has("--ttl")) {
    auto d = core::parseDuration(a.get("--ttl"));
    if (!d || d->count() < 1000)
      return usage("--ttl must be a duration such as 10m, not '" + a.get("--ttl") + "'", kHelp);
    ttl = d->count() / 1000;
  }
  auto subject = findSubjectToken(a);
  if (!subject.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", subject.status().message().c_str());
    return kUsage;
  }
  std::string form = "grant_type=" + client::formEncode("urn:ietf:params:oauth:grant-type:token-exchange") +
                     "&subject_token_type=" + client::formEncode("urn:ietf:params:oauth:token-type:jwt") +
                     "&subject_token=" + client::formEncode(*subject) +
                     "&ticket=" + client::formEncode(a.get("--ticket"));
  if (a.has("--audience")) form += "&audience=" + client::formEncode(a.get("--audience"));
  if (a.has("--grant")) form += "&grant=" + client::formEncode(a.get("--grant"));
  std::string scope;
  for (const auto& s : a.all("--scope")) scope += (scope.empty() ? "" : " ") + s;
  if (!scope.empty()) form += "&scope=" + client::formEncode(scope);
  if (ttl > 0) form += "&ttl=" + std::to_string(ttl);
  client::HttpReply reply;
  int rc = c.call("POST", "/v1/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
                  form, reply);
  if (rc != kOk) return rc;
  out = json::parse(reply.body).as_object();
  if (auto* e = out.if_contains("expires_in"); ttl > 0 && e && e->is_int64() && e->as_int64() < ttl)
    warnShorter(ttl, e->as_int64());
  return kOk;
}

int cmdToken(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kHelp, kTokenFlags, {}, a, code, /*json=*/true, /*short_help=*/false))
    return code;
  Context c = Context::from(a);
  json::object r;
  if (int rc = requestToken(c, a, r); rc != kOk) return rc;
  if (c.json) std::printf("%s\n", json::serialize(r).c_str());
  else std::printf("%s\n", std::string(r.at("access_token").as_string()).c_str());
  return kOk;
}

}  // namespace jitb::jitctl
