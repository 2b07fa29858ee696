#include "broker/server/config_databases.h"

#include <sys/stat.h>

#include <set>

#include "broker/core/files.h"
#include "broker/server/config_keys.h"

namespace jitb::server {

void parseDatabases(Checker& c, const YAML::Node& list, Config& cfg) {
  if (!list.IsSequence()) {
    c.fail(list, "'databases' must be a list");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < list.size() && !c.failed(); ++i) {
    const YAML::Node e = list[i];
    std::string where = "databases[" + std::to_string(i) + "]";
    if (!c.keys(e, where, keys::kDatabases)) return;
    DatabaseSettings d;
    c.str(e, "name", where + ".name", d.name);
    c.path(e, "dsn_file", where + ".dsn_file", d.dsn_file);
    c.str(e, "host", where + ".host", d.host);
    c.integer(e, "port", where + ".port", d.port, 1, 65535);
    c.str(e, "database", where + ".database", d.database);
    c.integer(e, "connection_limit", where + ".connection_limit", d.connection_limit, 1, 1000);
    if (c.failed()) return;
    if (d.name.empty()) c.fail(e, "'" + where + ".name' is required");
    else if (!names.insert(d.name).second)
      c.fail(e["name"], "'" + where + ".name': database '" + d.name + "' is listed twice");
    else if (d.dsn_file.empty()) c.fail(e, "'" + where + ".dsn_file' is required");
    else if (d.host.empty()) c.fail(e, "'" + where + ".host' is required");
    else if (d.database.empty()) c.fail(e, "'" + where + ".database' is required");
    cfg.databases.push_back(std::move(d));
  }
}

core::Status checkDatabaseGrants(const Config& cfg, const policies::PolicySet& set) {
  for (const auto& g : set.grants()) {
    if (!g.database) continue;
    bool known = false;
    for (const auto& d : cfg.databases) known = known || d.name == g.database->name;
    if (!known)
      return core::invalidArgument(g.file + ":" + std::to_string(g.line) + ": grant '" + g.name +
                                   "' names database '" + g.database->name +
                                   "', which the config's 'databases' does not list");
  }
  return core::okStatus();
}

core::StatusOr<std::string> readDsnFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    return core::invalidArgument(path + ": the dsn file holds a password: make it 0600 (chmod 600)");
  return core::readTrimmedFile(path);
}

}  // namespace jitb::server
