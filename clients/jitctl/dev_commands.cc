// Dev mode helpers (docs/getting-started.md): jitctl dev ticket sends a signed ticket event with the dev
// webhook secret from DATA_DIR/webhook.secret.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "broker/jose/signer.h"
#include "broker/tickets/webhook.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {

constexpr const char* kTicketHelp =
    "usage: jitctl dev ticket --id ID --state approved|pending|closed|canceled|rejected\n"
    "         [--subject SUB]... [--access GRANT]... [--window 1h] [--approver A]...\n"
    "         [--requester R] [--kind standard|normal|emergency] [--no-approval] [--data-dir DIR]\n"
    "         [--json]\n"
    "  Sends a signed ticket event to a dev broker (secret from DIR/webhook.secret).\n"
    "  The window runs from one minute ago for --window (default 1h).\n";

std::string rfc3339Millis(std::chrono::system_clock::time_point t) {
  std::string s = core::formatRfc3339(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() %
            1000;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03lldZ", static_cast<long long>(ms));
  return s.substr(0, s.size() - 1) + frac;
}

json::array list(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

constexpr const char* kSubjectHelp =
    "usage: jitctl dev subject-token --sub SUBJECT [--claim KEY=VALUE]... [--ttl 10m]\n"
    "         [--audience jitbroker] [--data-dir DIR] [--json]\n"
    "  Mints a caller JWT from the dev broker's local OIDC issuer (trusted in dev mode only)\n"
    "  and prints it. Use it with JITBROKER_SUBJECT_TOKEN or --subject-token-file.\n";

int cmdDevSubjectToken(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kSubjectHelp, {"--sub", "--claim", "--ttl", "--audience"}, {}, a, code,
                 /*json=*/true, /*short_help=*/false))
    return code;
  if (a.get("--sub").empty()) return usage("--sub is required", kSubjectHelp);
  auto ttl = core::parseDuration(a.get("--ttl", "10m"));
  if (!ttl || ttl->count() < 1000) return usage("--ttl must be a duration such as 10m", kSubjectHelp);
  Context c = Context::from(a);
  std::string dir = c.data_dir + "/dev-oidc";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::fprintf(stderr, "jitctl: %s does not exist: start `jitbroker dev --data-dir %s` first\n",
                 dir.c_str(), c.data_dir.c_str());
    return kUsage;
  }
  auto now = std::chrono::system_clock::now();
  auto signer = jose::TokenSigner::loadOrCreate(dir, now);
  if (!signer.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", signer.status().message().c_str());
    return kFailure;
  }
  int64_t t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json::object claims{{"iss", "jitbroker-dev"}, {"sub", a.get("--sub")},
                      {"aud", a.get("--audience", "jitbroker")}, {"iat", t}, {"nbf", t},
                      {"exp", t + ttl->count() / 1000}, {"jti", core::randomHex(12)}};
  for (const auto& kv : a.all("--claim")) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return usage("--claim takes KEY=VALUE", kSubjectHelp);
    std::string key = kv.substr(0, eq);
    if (key == "iss" || key == "aud" || key == "exp" || key == "sub")
      return usage("--claim cannot set " + key, kSubjectHelp);
    claims[key] = kv.substr(eq + 1);
  }
  auto token = (*signer)->sign(claims);
  if (!token.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", token.status().message().c_str());
    return kFailure;
  }
  if (c.json)
    printJson(json::object{{"token", *token}, {"claims", claims}});
  else
    std::printf("%s\n", token->c_str());
  return kOk;
}

int cmdDevTicket(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kTicketHelp,
                 {"--id", "--state", "--subject", "--access", "--window", "--approver",
                  "--requester", "--kind"},
                 {"--no-approval"}, a, code, /*json=*/true, /*short_help=*/false))
    return code;
  if (!a.has("--id") || !a.has("--state")) return usage("--id and --state are required", kTicketHelp);
  auto window = core::parseDuration(a.get("--window", "1h"));
  if (!window) return usage("--window must be a duration such as 30m or 2h", kTicketHelp);
  Context c = Context::from(a);
  auto secret = core::readTrimmedFile(c.data_dir + "/webhook.secret");
  if (!secret.ok()) {
    std::fprintf(stderr, "jitctl: no webhook secret in %s/webhook.secret (is this a dev data dir?)\n",
                 c.data_dir.c_str());
    return kUsage;
  }

  auto now = std::chrono::system_clock::now();
  auto approvers = a.all("--approver");
  if (approvers.empty() && !a.has("--no-approval")) approvers.push_back("approver@dev.local");
  json::object t{{"id", a.get("--id")},
                 {"state", a.get("--state")},
                 {"kind", a.get("--kind", "normal")},
                 {"requested_by", a.get("--requester", "requester@dev.local")},
                 {"approved_by", list(approvers)},
                 {"subjects", list(a.all("--subject"))},
                 {"access", list(a.all("--access"))},
                 {"window",
                  {{"start", core::formatRfc3339(now - std::chrono::minutes(1))},
                   {"end", core::formatRfc3339(now + *window)}}},
                 {"updated_at", rfc3339Millis(now)}};
  std::string body = json::serialize(json::object{{"ticket", t}});
  int64_t ts = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  client::HttpReply reply;
  int rc = c.call("POST", "/v1/tickets/events",
                  {{"Content-Type", "application/json"},
                   {"X-Jitbroker-Signature", tickets::signBody(body, *secret, ts)}},
                  body, reply);
  if (rc != kOk) return rc;
  if (c.json) std::printf("%s\n", reply.body.c_str());
  else std::printf("ticket %s: %s\n", a.get("--id").c_str(), reply.body.c_str());
  return kOk;
}

}  // namespace jitb::jitctl
