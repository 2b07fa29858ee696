#include <cstdio>
#include <fstream>

#include "broker/audit/audit_log.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace {
constexpr const char* kHelp =
    "usage: jitctl audit verify FILE [--prev HASH]\n"
    "  Checks the audit log's hash chain. Exit 0 when intact; otherwise 1, naming the first\n"
    "  bad line. --prev gives the last hash of the previous file for a rotated log.\n";
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
  if (a.positional().size() != 1) return usage("audit verify takes one FILE", kHelp);
  std::ifstream in(a.positional()[0]);
  if (!in) {
    std::fprintf(stderr, "jitctl: cannot read %s\n", a.positional()[0].c_str());
    return kFailure;
  }
  audit::VerifyResult r = audit::verifyAuditLog(in, a.get("--prev"));
  if (!r.ok) {
    std::fprintf(stderr, "jitctl: %s: %s\n", a.positional()[0].c_str(), r.message.c_str());
    return kFailure;
  }
  std::printf("%s: intact (%zu records)\n", a.positional()[0].c_str(), r.lines);
  return kOk;
}

}  // namespace jitb::jitctl
