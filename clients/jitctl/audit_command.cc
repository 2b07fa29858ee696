#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "broker/audit/audit_log.h"
#include "clients/jitctl/audit_store.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace {
constexpr const char* kHelp =
    "usage: jitctl audit verify FILE... [--prev HASH] [--json]\n"
    "       jitctl audit verify --config FILE [--json]\n"
    "  Checks the audit log's hash chain. Exit 0 when intact; otherwise 1, naming the first\n"
    "  bad line. Rotated files (audit.log.<ms>) are checked across when given oldest first,\n"
    "  the live audit.log last; --prev starts the chain from the hash a file follows.\n"
    "  --config: the log of the broker that FILE configures: with store.postgres, every\n"
    "  replica's chain in the store (naming the first bad record); else data_dir/audit.log.\n";
constexpr const char* kExportHelp =
    "usage: jitctl audit export --config FILE\n"
    "  Writes the audit records of the broker that FILE configures to stdout, one JSON object\n"
    "  a line: with store.postgres every replica's chain in the store, chain by chain in seq\n"
    "  order (each record names its replica); else data_dir/audit.log. Exit 1 when the store\n"
    "  or the file cannot be read.\n";

int verifyFiles(const client::Args& a, std::vector<std::string> files) {
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
  for (const auto& file : files) {
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

int verifyStore(const client::Args& a, const std::string& url) {
  const bool as_json = a.has("--json");
  auto r = verifyStoreChains(url);
  if (!r.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", r.status().message().c_str());
    return kFailure;
  }
  boost::json::array chains;
  for (const auto& c : r->chains)
    chains.push_back(boost::json::object{{"replica", c.replica}, {"records", c.records}});
  if (!r->ok) {
    std::string where = "replica " + r->replica +
                        (r->bad_seq ? ", record " + std::to_string(r->bad_seq) : std::string());
    if (as_json)
      printJson(boost::json::object{{"intact", false}, {"chains", chains},
                                    {"replica", r->replica}, {"seq", r->bad_seq},
                                    {"error", r->message}});
    std::fprintf(stderr, "jitctl: %s: %s\n", where.c_str(), r->message.c_str());
    return kFailure;
  }
  if (as_json) {
    printJson(boost::json::object{{"intact", true}, {"chains", chains}});
  } else {
    for (const auto& c : r->chains)
      std::printf("replica %s: intact (%lld records)\n", c.replica.c_str(),
                  static_cast<long long>(c.records));
    if (r->chains.empty()) std::printf("the store holds no audit records\n");
  }
  return kOk;
}
}  // namespace

int cmdAuditVerify(const Argv& argv) {
  client::Args a;
  int code;
  // The global flags are accepted and ignored: no broker is involved.
  if (!parseArgs(argv, kHelp, {"--prev", "--config"}, {}, a, code, /*json=*/true,
                 /*short_help=*/false))
    return code;
  if (a.has("--config")) {
    if (!a.positional().empty() || a.has("--prev"))
      return usage("audit verify takes --config or FILE..., not both", kHelp);
    auto where = storeAuditOf(a.get("--config"));
    if (!where.ok()) return usage(where.status().message(), kHelp);
    if (where->postgres_url.empty()) return verifyFiles(a, {where->file});
    return verifyStore(a, where->postgres_url);
  }
  if (a.positional().empty()) return usage("audit verify takes at least one FILE", kHelp);
  return verifyFiles(a, a.positional());
}

int cmdAuditExport(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kExportHelp, {"--config"}, {}, a, code, /*json=*/false,
                 /*short_help=*/false))
    return code;
  if (!a.has("--config") || !a.positional().empty())
    return usage("audit export takes --config FILE", kExportHelp);
  auto where = storeAuditOf(a.get("--config"));
  if (!where.ok()) return usage(where.status().message(), kExportHelp);
  if (where->postgres_url.empty()) {
    std::ifstream in(where->file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "jitctl: %s: cannot read the file\n", where->file.c_str());
      return kFailure;
    }
    std::string line;
    while (std::getline(in, line)) std::printf("%s\n", line.c_str());
    return kOk;
  }
  auto n = exportStoreChains(where->postgres_url, stdout);
  if (!n.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", n.status().message().c_str());
    return kFailure;
  }
  return kOk;
}

}  // namespace jitb::jitctl
