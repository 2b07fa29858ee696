// Admin operations: jitctl policy reload, jitctl keys rotate, jitctl introspect.
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {

constexpr const char* kReloadHelp =
    "usage: jitctl policy reload [--json]\n"
    "  Asks the broker to load its policy files again (as SIGHUP does) and to judge every\n"
    "  active lease against them (admin). A policy error keeps the old policies and is\n"
    "  printed with its FILE:LINE.\n";
constexpr const char* kRotateHelp =
    "usage: jitctl keys rotate [--json]\n"
    "  Makes a new token-signing key (admin). The previous key stays in the JWKS until the\n"
    "  tokens it signed have expired.\n";
constexpr const char* kIntrospectHelp =
    "usage: jitctl introspect TOKEN|- [--json]\n"
    "  Asks the broker whether an access token is active (RFC 7662; admin) and prints its\n"
    "  claims and lease. \"-\" reads the token from stdin (keeps it out of the process list).\n"
    "  Exit 0 when active, 1 when not.\n";

std::string text(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

}  // namespace

int cmdPolicyReload(const Argv& argv) {
  return runAdminCommand(argv, {kReloadHelp, "policy reload takes no arguments", {}, 0, "POST",
                                [](const Argv&) { return "/v1/policies/reload"; },
                                [](const client::HttpReply&) {
                                  std::printf("policies reloaded\n");
                                  return kOk;
                                }});
}

int cmdKeys(const Argv& argv) {
  return runAdminCommand(
      argv, {kRotateHelp, "expected: keys rotate", {"rotate"}, 0, "POST",
             [](const Argv&) { return "/v1/keys/rotate"; },
             [](const client::HttpReply& reply) {
               json::value v = json::parse(reply.body);
               const json::value* signing = v.as_object().if_contains("signing_kid");
               // Keys in the store rotate in two phases: the new key is published first.
               if (signing && text(*signing) != text(v.at("kid"))) {
                 std::printf(
                     "new key %s published; %s signs until every replica and JWKS cache has "
                     "it (keys.jwks_max_age)\n",
                     text(v.at("kid")).c_str(), text(*signing).c_str());
                 return kOk;
               }
               std::printf(
                   "signing key %s (the previous key, %s, stays in the JWKS until its tokens "
                   "expire)\n",
                   text(v.at("kid")).c_str(), text(v.at("previous_kid")).c_str());
               return kOk;
             }});
}

int cmdIntrospect(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kIntrospectHelp, {}, {}, a, code)) return code;
  if (a.positional().size() != 1)
    return usage("introspect takes one TOKEN (or - for stdin)", kIntrospectHelp);
  std::string token = a.positional()[0];
  if (token == "-") std::getline(std::cin, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return usage("the token is empty", kIntrospectHelp);
  Context c = Context::from(a);
  client::HttpReply reply;
  if (int rc = c.adminCall("POST", "/v1/introspect", reply, "token=" + client::formEncode(token),
                           {{"Content-Type", "application/x-www-form-urlencoded"}});
      rc != kOk)
    return rc;
  json::value v = json::parse(reply.body);
  bool active = v.is_object() && v.as_object().contains("active") && v.at("active") == true;
  if (!c.printedRaw(reply)) {
    for (const auto& kv : v.as_object())
      std::printf("%-11s %s\n", std::string(kv.key()).c_str(), text(kv.value()).c_str());
  }
  return active ? kOk : kFailure;
}

}  // namespace jitb::jitctl
