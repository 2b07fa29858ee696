// jitbroker: dev | serve --config FILE | check --config FILE | ca ... (docs/operations.md).
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "broker/core/version.h"
#include "broker/server/app.h"
#include "broker/server/ca_command.h"
#include "broker/server/config.h"
#include "broker/server/config_check.h"
#include "broker/server/config_databases.h"
#include "broker/server/policy_loader.h"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  jitbroker dev [--data-dir DIR] [--listen HOST:PORT]   embedded default (SQLite in DIR)\n"
    "  jitbroker serve --config FILE                        production start\n"
    "  jitbroker check [--offline] --config FILE            validate what serve would: the config,\n"
    "                                                       the files it reads, the servers it\n"
    "                                                       reaches (--offline: not those), policies\n"
    "  jitbroker ca status|offline-root|renew-intermediate  the CA folder (ca --help)\n"
    "  jitbroker --version                                  version and git commit\n"
    "Each command takes --help.\n";

constexpr const char* kDevHelp =
    "usage: jitbroker dev [--data-dir DIR] [--listen HOST:PORT]\n"
    "  Runs a development broker: SQLite in DIR (default ./var), a CA, a server certificate,\n"
    "  the admin token and the webhook secret made on first start, policies from\n"
    "  ./policies/default (else the built-in copy), and a local OIDC issuer for\n"
    "  `jitctl dev subject-token`. --listen defaults to 127.0.0.1:8443 (port 0: any free port).\n";
constexpr const char* kServeHelp =
    "usage: jitbroker serve --config FILE\n"
    "  Runs the broker from a YAML config file (docs/operations.md). SIGTERM drains in-flight\n"
    "  requests and exits 0; SIGHUP reloads the policies.\n";
constexpr const char* kCheckHelp =
    "usage: jitbroker check [--offline] --config FILE\n"
    "  Validates what serve would: the config file, every policy file it names, the files it\n"
    "  reads and (without --offline) the servers it reaches; exit 0 when valid, else 1 with\n"
    "  FILE:LINE: message for each problem.\n";

// --help anywhere among a command's arguments asks for that command's help.
bool wantsHelp(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

int usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "jitbroker: %s\n", why.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}

// Parses "--flag VALUE" / "--flag=VALUE" pairs; unknown flags are a usage error.
bool flags(const std::vector<std::string>& args, const std::vector<std::string>& known,
           std::vector<std::pair<std::string, std::string>>& out, std::string& err) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], v;
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < args.size()) {
      v = args[++i];
    } else {
      err = "missing value for " + a;
      return false;
    }
    bool ok = false;
    for (const auto& k : known) ok |= (a == k);
    if (!ok) {
      err = "unknown option " + a;
      return false;
    }
    out.emplace_back(a, v);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace jitb::server;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage("");
  std::string cmd = args.front();
  args.erase(args.begin());
  // Everything the broker creates in data_dir (the store and its WAL and shm, keys, the audit
  // log) is owner-only; the two public CA bundles set 0644 explicitly.
  ::umask(077);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("%s\n", jitb::core::versionLine("jitbroker").c_str());
    return 0;
  }
  for (auto [name, help] :
       {std::pair{"dev", kDevHelp}, {"serve", kServeHelp}, {"check", kCheckHelp}})
    if (cmd == name && wantsHelp(args)) {
      std::fputs(help, stdout);
      return 0;
    }
  std::vector<std::pair<std::string, std::string>> opts;
  std::string err;

  if (cmd == "ca") return runCaCommand(args);

  if (cmd == "dev") {
    if (!flags(args, {"--data-dir", "--listen"}, opts, err)) return usage(err);
    Config cfg;
    cfg.dev = true;
    cfg.source = "<dev>";
    for (const auto& [k, v] : opts) {
      if (k == "--data-dir") cfg.data_dir = v;
      if (k == "--listen") {
        if (auto st = parseListen(v, cfg.listen_host, cfg.listen_port); !st.ok())
          return usage(st.message());
      }
    }
    return runBroker(std::move(cfg));
  }

  if (cmd == "serve" || cmd == "check") {
    // --offline is a switch: it takes no value.
    CheckOptions check_opts;
    if (cmd == "check") {
      for (auto it = args.begin(); it != args.end();)
        if (*it == "--offline") {
          check_opts.offline = true;
          it = args.erase(it);
        } else {
          ++it;
        }
    }
    if (!flags(args, {"--config"}, opts, err)) return usage(err);
    if (opts.empty()) return usage("--config FILE is required");
    auto cfg = loadConfig(opts.back().second);
    if (!cfg.ok()) {
      std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
      return 1;
    }
    if (cmd == "check") {
      // Everything serve reads or reaches, every problem reported, then the policies.
      std::vector<std::string> notes;
      std::vector<std::string> problems = checkServeConfig(*cfg, check_opts, &notes);
      for (const auto& n : notes) std::printf("%s: %s\n", cfg->source.c_str(), n.c_str());
      for (const auto& p : problems) std::fprintf(stderr, "%s: %s\n", cfg->source.c_str(), p.c_str());
      auto set = loadPolicies(cfg->policies_dir, cfg->trust.size());
      if (!set.ok()) std::fprintf(stderr, "%s\n", set.status().message().c_str());
      bool grants_ok = true;  // every grant's database is configured
      if (set.ok())
        if (auto st = checkDatabaseGrants(*cfg, **set); !st.ok()) {
          std::fprintf(stderr, "%s\n", st.message().c_str());
          grants_ok = false;
        }
      if (!problems.empty() || !set.ok() || !grants_ok) return 1;
      std::printf("%s: ok (%zu grants from %s; %s)\n", cfg->source.c_str(), (*set)->size(),
                  cfg->policies_dir.c_str(),
                  check_opts.offline ? "files checked, network skipped (--offline)"
                                     : "files read and servers reached");
      return 0;
    }
    return runBroker(std::move(*cfg));
  }
  return usage("unknown command '" + cmd + "'");
}
