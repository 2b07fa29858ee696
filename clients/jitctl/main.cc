// jitctl: the broker's command-line client (docs/jitctl.md).
#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "broker/core/version.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace {

constexpr const char* kHelp =
    "usage: jitctl COMMAND [options]     (jitctl COMMAND --help for each)\n"
    "  token --ticket ID [...]         print an access token for an approved ticket\n"
    "  cert --ticket ID --cert-out F --key-out F   a certificate; the key is made here\n"
    "  exec --ticket ID -- CMD ...     run CMD with a token, revoked when CMD ends\n"
    "  db --ticket ID [-- CMD ...]     run CMD (psql) with a PostgreSQL login, revoked when CMD ends\n"
    "  agent --ticket ID --cert-out F --key-out F   keep a certificate fresh\n"
    "  ssh --ticket ID [--key F] -- [ssh args]   ssh with a certificate, revoked when ssh ends\n"
    "  ssh-cert --ticket ID --public-key F --out F-cert.pub   an SSH certificate for a key\n"
    "  leases [--ticket ID]            list leases (admin)\n"
    "  lease show LEASE_ID             one lease (admin)\n"
    "  revoke LEASE_ID                 revoke one lease (admin)\n"
    "  revoke --ticket|--subject|--grant X [--dry-run]   revoke every matching lease (admin)\n"
    "  reviews                         break-glass leases waiting for review (admin)\n"
    "  tickets show ID                 a ticket and its leases (admin)\n"
    "  introspect TOKEN                is an access token active, and its claims (admin)\n"
    "  keys rotate                     new token-signing key (admin)\n"
    "  policy check DIR                validate policy files\n"
    "  policy explain ...              show a decision and its basis, rule by rule\n"
    "  policy reload                   the broker loads its policies again (admin)\n"
    "  audit verify FILE               check the audit log's hash chain\n"
    "  audit verify|export --config F  check or print the audit chains of F's store\n"
    "  dev ticket ...                  send a signed ticket event to a dev broker\n"
    "  dev subject-token --sub S       mint a caller token from the dev broker's issuer\n"
    "  completion bash|zsh             print a shell completion script\n"
    "  version                         print the version (also --version)\n"
    "global options (before or after the command):\n"
    "  --broker URL               the broker (JITBROKER_URL; default https://127.0.0.1:8443)\n"
    "  --ca-file F                CA bundle for the broker's TLS (JITBROKER_CA; in dev\n"
    "                             DATA_DIR/tls/ca.pem)\n"
    "  --subject-token-file F     your identity token (else JITBROKER_SUBJECT_TOKEN, GitHub\n"
    "                             Actions' OIDC endpoint, the variable named by\n"
    "                             --subject-token-env, then Kubernetes' service-account token)\n"
    "  --subject-token-env NAME   variable holding the identity token (default\n"
    "                             JITBROKER_ID_TOKEN, e.g. a GitLab CI id_token)\n"
    "  --subject-audience A       audience asked of GitHub Actions' OIDC endpoint (jitbroker)\n"
    "  --data-dir DIR             a dev broker's data folder (default ./var)\n"
    "  --json                     machine-readable output (every command that prints a result)\n"
    "admin commands read the admin token from JITBROKER_ADMIN_TOKEN_FILE (dev:\n"
    "DATA_DIR/admin.token).\n"
    "exit codes: 0 ok, 1 error, 2 usage, 3 denied, 4 broker unreachable (no connection or\n"
    "  TLS failure), 5 ticket closed, 6 broker temporarily unavailable (HTTP 503; retry);\n"
    "  exec and db exit with their command's code, ssh with ssh's\n";

constexpr const char* kPolicyHelp =
    "usage: jitctl policy check DIR | policy explain ... | policy reload\n"
    "  (jitctl policy check|explain|reload --help for each)\n";
constexpr const char* kAuditHelp =
    "usage: jitctl audit verify FILE... | audit verify --config FILE | audit export --config FILE\n"
    "  (jitctl audit verify|export --help for each)\n";
constexpr const char* kDevHelp =
    "usage: jitctl dev ticket ... | dev subject-token ...\n"
    "  (jitctl dev ticket|subject-token --help for each)\n";
constexpr const char* kVersionHelp = "usage: jitctl version [--json]  (or jitctl --version)\n";

int version(const jitb::jitctl::Argv& argv) {
  using namespace jitb::jitctl;
  jitb::client::Args a;
  int code;
  if (!parseArgs(argv, kVersionHelp, {}, {}, a, code)) return code;
  if (a.has("--json")) {
    printJson(boost::json::object{{"version", jitb::core::projectVersion()},
                                  {"commit", jitb::core::gitCommit()}});
  } else {
    std::printf("%s\n", jitb::core::versionLine("jitctl").c_str());
  }
  return kOk;
}

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
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (cmd == "--version") return version(rest);
  // A command made of words (policy, audit, dev) asked for help before its word.
  for (auto [name, help] :
       {std::pair{"policy", kPolicyHelp}, {"audit", kAuditHelp}, {"dev", kDevHelp}}) {
    if (cmd != name) continue;
    if (rest.empty()) return usage("", help);
    if (rest[0] == "--help" || rest[0] == "-h") {
      std::fputs(help, stdout);
      return kOk;
    }
  }
  // Before anything a command takes verbatim (exec's "-- CMD"), after a sub-command word.
  bool has_word = (cmd == "audit" || cmd == "dev" || cmd == "policy") && !rest.empty();
  rest.insert(rest.begin() + (has_word ? 1 : 0), globals.begin(), globals.end());
  Argv after_word = has_word ? Argv(rest.begin() + 1, rest.end()) : Argv{};
  if (cmd == "leases") return cmdLeases(rest);
  if (cmd == "lease") return cmdLease(rest);
  if (cmd == "revoke") return cmdRevoke(rest);
  if (cmd == "reviews") return cmdReviews(rest);
  if (cmd == "tickets") return cmdTicketsShow(rest);
  if (cmd == "introspect") return cmdIntrospect(rest);
  if (cmd == "keys") return cmdKeys(rest);
  if (cmd == "completion") return cmdCompletion(rest);
  if (cmd == "version") return version(rest);
  if (cmd == "audit" && rest[0] == "verify") return cmdAuditVerify(after_word);
  if (cmd == "audit" && rest[0] == "export") return cmdAuditExport(after_word);
  if (cmd == "dev" && rest[0] == "ticket") return cmdDevTicket(after_word);
  if (cmd == "dev" && rest[0] == "subject-token") return cmdDevSubjectToken(after_word);
  if (cmd == "policy" && rest[0] == "reload") return cmdPolicyReload(after_word);
  if (cmd == "token") return cmdToken(rest);
  if (cmd == "policy") return cmdPolicy(rest);
  if (cmd == "cert") return cmdCert(rest);
  if (cmd == "exec") return cmdExec(rest);
  if (cmd == "db") return cmdDb(rest);
  if (cmd == "agent") return cmdAgent(rest);
  if (cmd == "ssh") return cmdSsh(rest);
  if (cmd == "ssh-cert") return cmdSshCert(rest);
  if (cmd == "audit") return usage("unknown command 'audit " + rest[0] + "'", kAuditHelp);
  if (cmd == "dev") return usage("unknown command 'dev " + rest[0] + "'", kDevHelp);
  return usage("unknown command '" + cmd + "'", kHelp);
}
