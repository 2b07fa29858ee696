#include "clients/lib/args.h"

namespace jitb::client {

std::optional<std::string> Args::parse(const std::vector<std::string>& argv,
                                       const std::set<std::string>& value_flags,
                                       const std::set<std::string>& switches, Args& out) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      out.rest_.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      out.positional_.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    if (switches.count(name)) {
      if (inline_value) return "option " + name + " takes no value";
      out.switches_.insert(name);
    } else if (value_flags.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) return "option " + name + " needs a value";
        value = argv[++i];
      }
      out.values_[name].push_back(value);
    } else {
      return "unknown option " + name;
    }
  }
  return std::nullopt;
}

std::string Args::get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Args::all(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace jitb::client
