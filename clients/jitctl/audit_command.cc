#include <cstdio>
#include <fstream>

#include "broker/audit/audit_log.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace {
constexpr const char* kHelp =
    "usage: jitctl audit verify FILE... [--prev HASH]\n"
    "  Checks the audit log's hash chain. Exit 0 when intact; otherwise 1, naming the first\n"
    "  bad line. Rotated files (audit.log.<ms>) are checked across when given oldest first,\n"
    "  the live audit.log last; --prev starts the chain from the hash a file follows.\n";
}

int cmdAuditVerify(const Argv& argv) {
  client::Args a;
  std::set<std::string> flags = kGlobalFlags;  // accepted and ignored: no broker is involved
  flags.insert("--prev");
  if (auto err = client::Args::parse(argv, flags, {"--help"}, a)) return usage(*err, kHelp);
  if (a.has("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (a.positional().empty()) return usage("audit verify takes at least one FILE", kHelp);
  std::string prev = a.get("--prev");
  for (const auto& file : a.positional()) {
    std::ifstream in(file);
    if (!in) {
      std::fprintf(stderr, "jitctl: cannot read %s\n", file.c_str());
      return kFailure;
    }
    audit::VerifyResult r = audit::verifyAuditLog(in, prev);
    if (!r.ok) {
      std::fprintf(stderr, "jitctl: %s: %s\n", file.c_str(), r.message.c_str());
      return kFailure;
    }
    std::printf("%s: intact (%zu records)\n", file.c_str(), r.lines);
    if (!r.last_hash.empty()) prev = r.last_hash;
  }
  return kOk;
}

}  // namespace jitb::jitctl
