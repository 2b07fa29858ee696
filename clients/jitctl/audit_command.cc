#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "broker/audit/audit_log.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace {
constexpr const char* kHelp =
    "usage: jitctl audit verify FILE... [--prev HASH] [--json]\n"
    "  Checks the audit log's hash chain. Exit 0 when intact; otherwise 1, naming the first\n"
    "  bad line. Rotated files (audit.log.<ms>) are checked across when given oldest first,\n"
    "  the live audit.log last; --prev starts the chain from the hash a file follows.\n";
}

int cmdAuditVerify(const Argv& argv) {
  client::Args a;
  int code;
  // The global flags are accepted and ignored: no broker is involved.
  if (!parseArgs(argv, kHelp, {"--prev"}, {}, a, code, /*json=*/true, /*short_help=*/false))
    return code;
  if (a.positional().empty()) return usage("audit verify takes at least one FILE", kHelp);
  std::string prev = a.get("--prev");
  const bool as_json = a.has("--json");
  boost::json::array checked;
  auto fail = [&](const std::string& file, const std::string& why) {
    if (as_json)
      printJson(boost::json::object{
          {"intact", false}, {"files", checked}, {"file", file}, {"error", why}});
    std::fprintf(stderr, "jitctl: %s: %s\n", file.c_str(), why.c_str());
    return kFailure;
  };
  for (const auto& file : a.positional()) {
    std::ifstream in(file);
    if (!in) return fail(file, "cannot read the file");
    audit::VerifyResult r = audit::verifyAuditLog(in, prev);
    if (!r.ok) return fail(file, r.message);
    if (!as_json) std::printf("%s: intact (%zu records)\n", file.c_str(), r.lines);
    checked.push_back(boost::json::object{{"file", file}, {"records", r.lines}});
    if (!r.last_hash.empty()) prev = r.last_hash;
  }
  if (as_json) printJson(boost::json::object{{"intact", true}, {"files", checked}});
  return kOk;
}

}  // namespace jitb::jitctl
