// jitctl: the broker's command-line client (CONTRACT.md §7).
#include <cstdio>
#include <string>
#include <vector>

#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace {

constexpr const char* kHelp =
    "usage: jitctl COMMAND [options]     (jitctl COMMAND --help for each)\n"
    "  token --ticket ID [...]         print an access token for an approved ticket\n"
    "  cert --ticket ID --cert-out F --key-out F   a certificate; the key is made here\n"
    "  exec --ticket ID -- CMD ...     run CMD with a token, revoked when CMD ends\n"
    "  agent --ticket ID --cert-out F --key-out F   keep a certificate fresh\n"
    "  leases [--ticket ID]            list leases (admin)\n"
    "  revoke LEASE_ID                 revoke one lease (admin)\n"
    "  tickets show ID                 a ticket and its leases (admin)\n"
    "  policy check DIR                validate policy files\n"
    "  policy explain ...              show a decision and its basis, rule by rule\n"
    "  audit verify FILE               check the audit log's hash chain\n"
    "  dev ticket ...                  send a signed ticket event to a dev broker\n"
    "  dev subject-token --sub S       mint a caller token from the dev broker's issuer\n"
    "global: --broker URL (JITBROKER_URL), --ca-file F (JITBROKER_CA),\n"
    "        admin token from JITBROKER_ADMIN_TOKEN_FILE, --data-dir DIR for dev (./var)\n"
    "exit codes: 0 ok, 1 error, 2 usage, 3 denied, 4 broker unreachable, 5 ticket closed\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace jitb::jitctl;
  Argv args(argv + 1, argv + argc);
  // Global flags may come before the command: move them behind it.
  Argv globals;
  while (args.size() >= 2 && kGlobalFlags.count(args[0])) {
    globals.insert(globals.end(), args.begin(), args.begin() + 2);
    args.erase(args.begin(), args.begin() + 2);
  }
  while (!args.empty() && args[0].rfind("--", 0) == 0 && args[0].find('=') != std::string::npos &&
         kGlobalFlags.count(args[0].substr(0, args[0].find('=')))) {
    globals.push_back(args[0]);
    args.erase(args.begin());
  }
  if (args.empty()) return usage("", kHelp);
  std::string cmd = args[0];
  Argv rest(args.begin() + 1, args.end());
  // Before anything a command takes verbatim (exec's "-- CMD"), after a sub-command word.
  bool has_word = (cmd == "audit" || cmd == "dev" || cmd == "policy") && !rest.empty();
  rest.insert(rest.begin() + (has_word ? 1 : 0), globals.begin(), globals.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (cmd == "leases") return cmdLeases(rest);
  if (cmd == "revoke") return cmdRevoke(rest);
  if (cmd == "tickets") return cmdTicketsShow(rest);
  if (cmd == "audit" && !rest.empty() && rest[0] == "verify")
    return cmdAuditVerify(Argv(rest.begin() + 1, rest.end()));
  if (cmd == "dev" && !rest.empty() && rest[0] == "ticket")
    return cmdDevTicket(Argv(rest.begin() + 1, rest.end()));
  if (cmd == "dev" && !rest.empty() && rest[0] == "subject-token")
    return cmdDevSubjectToken(Argv(rest.begin() + 1, rest.end()));
  if (cmd == "token") return cmdToken(rest);
  if (cmd == "policy") return cmdPolicy(rest);
  if (cmd == "cert") return cmdCert(rest);
  if (cmd == "exec") return cmdExec(rest);
  if (cmd == "agent") return cmdAgent(rest);
  return usage("unknown command '" + cmd + "'", kHelp);
}
