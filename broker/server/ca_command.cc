#include "broker/server/ca_command.h"

#include <cstdio>
#include <ctime>
#include <map>

#include "broker/core/duration.h"
#include "broker/server/config.h"
#include "ca/ca_folder.h"

namespace jitb::server {

namespace {

constexpr const char* kCaUsage =
    "usage:\n"
    "  jitbroker ca status (--data-dir DIR | --config FILE)\n"
    "      whether the root key is online, and the root's and intermediate's expiry\n"
    "  jitbroker ca offline-root (--data-dir DIR | --config FILE) --out FILE\n"
    "      move the root CA private key out of DIR/ca into FILE (created 0600, never\n"
    "      overwritten; the original is removed only after the copy is synced and read back).\n"
    "      The broker then runs on the intermediate alone; see docs/operations.md.\n"
    "  jitbroker ca renew-intermediate (--data-dir DIR | --config FILE) --root-key FILE\n"
    "      sign a new intermediate (new key, same name and algorithm, 5 years) with the root\n"
    "      key in FILE; the old pair is kept as intermediate.*.replaced-<time>. Restart the\n"
    "      broker to issue with it.\n";

int caUsage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "jitbroker ca: %s\n", why.c_str());
  std::fputs(kCaUsage, stderr);
  return 2;
}

// The CA folder named by --data-dir or --config (exactly one is given); empty with `why` set
// when there is none.
std::string caFolder(const std::map<std::string, std::string>& opts, std::string& why) {
  if (opts.count("--data-dir")) return opts.at("--data-dir") + "/ca";
  auto cfg = loadConfig(opts.at("--config"));
  if (!cfg.ok()) {
    why = cfg.status().message();
    return "";
  }
  if (!cfg->ca.intermediate_cert_file.empty()) {
    why =
        "this broker uses a brought intermediate (ca.intermediate_cert_file); its root key "
        "was never in the data folder";
    return "";
  }
  return cfg->data_dir + "/ca";
}

int status(const std::string& dir) {
  auto st = ca::inspectCaFolder(dir);
  if (!st.ok()) {
    std::fprintf(stderr, "jitbroker ca: %s\n", st.error().message.c_str());
    return 1;
  }
  auto now = std::chrono::system_clock::now();
  std::printf("CA folder:        %s\n", dir.c_str());
  if (st->root_cert)
    std::printf("root:             %s, expires %s\n", st->root_subject.c_str(),
                core::formatRfc3339(st->root_not_after).c_str());
  else
    std::printf("root:             missing (no root.crt)\n");
  std::printf("root key:         %s\n",
              st->root_key ? ("online (" + dir + "/root.key)").c_str() : "offline");
  if (st->intermediate_cert) {
    auto days =
        std::chrono::duration_cast<std::chrono::hours>(st->intermediate_not_after - now).count() /
        24;
    std::printf("intermediate:     %s, expires %s (%lld days left)\n",
                st->intermediate_subject.c_str(), core::formatRfc3339(st->intermediate_not_after).c_str(),
                static_cast<long long>(days));
  } else {
    std::printf("intermediate:     missing (no intermediate.crt)\n");
  }
  std::printf("intermediate key: %s\n", st->intermediate_key ? "present" : "missing");
  return 0;
}

int renew(const std::string& dir, const std::map<std::string, std::string>& opts) {
  if (!opts.count("--root-key")) return caUsage("--root-key FILE is required");
  auto r = ca::renewIntermediate(dir, opts.at("--root-key"), std::chrono::system_clock::now());
  if (!r.ok()) {
    std::fprintf(stderr, "jitbroker ca: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf(
      "new intermediate %s, expires %s, in %s (the previous pair is intermediate.*%s).\n"
      "Restart the broker to issue with it. If the root key was offline, put %s away again.\n",
      r->subject.c_str(), core::formatRfc3339(r->not_after).c_str(), dir.c_str(), r->replaced.c_str(),
      opts.at("--root-key").c_str());
  return 0;
}

}  // namespace

int runCaCommand(const std::vector<std::string>& args) {
  if (args.empty()) return caUsage("");
  const std::string& sub = args.front();
  for (const auto& a : args)
    if (a == "--help" || a == "-h" || a == "help") {
      std::fputs(kCaUsage, stdout);
      return 0;
    }
  if (sub != "status" && sub != "offline-root" && sub != "renew-intermediate")
    return caUsage("unknown command '" + sub + "'");
  std::map<std::string, std::string> opts;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i], v;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < args.size()) {
      v = args[++i];
    } else {
      return caUsage("missing value for " + a);
    }
    bool known = a == "--data-dir" || a == "--config" || (sub == "offline-root" && a == "--out") ||
                 (sub == "renew-intermediate" && a == "--root-key");
    if (!known) return caUsage("unknown option " + a + " for 'ca " + sub + "'");
    if (v.empty()) return caUsage(a + " needs a value");
    opts[a] = v;
  }
  if (opts.count("--data-dir") == opts.count("--config"))
    return caUsage("give exactly one of --data-dir DIR or --config FILE");
  std::string why;
  std::string dir = caFolder(opts, why);
  if (dir.empty()) {
    std::fprintf(stderr, "jitbroker ca: %s\n", why.c_str());
    return 1;
  }
  if (sub == "status") return status(dir);
  if (sub == "renew-intermediate") return renew(dir, opts);

  if (!opts.count("--out")) return caUsage("--out FILE is required");
  auto moved = ca::moveRootKeyOffline(dir, opts.at("--out"));
  if (!moved.ok()) {
    std::fprintf(stderr, "jitbroker ca: %s\n", moved.error().message.c_str());
    return 1;
  }
  std::printf(
      "root key moved to %s (0600) and removed from %s.\n"
      "Keep it offline (encrypted media, a safe). The broker keeps issuing, and signing CRLs and\n"
      "OCSP answers, with the intermediate; bring the root back only to sign a new intermediate.\n",
      opts.at("--out").c_str(), dir.c_str());
  return 0;
}

}  // namespace jitb::server
