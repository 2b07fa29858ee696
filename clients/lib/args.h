// Minimal "--flag VALUE" / "--flag=VALUE" / "--switch" parsing for jitctl's subcommands.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace jitb::client {

class Args {
 public:
  // `value_flags` take a value (and may repeat); `switches` do not. Anything after "--" and
  // any non-flag word is positional. Returns an error message on an unknown flag.
  static std::optional<std::string> parse(const std::vector<std::string>& argv,
                                          const std::set<std::string>& value_flags,
                                          const std::set<std::string>& switches, Args& out);

  bool has(const std::string& flag) const { return values_.count(flag) || switches_.count(flag); }
  std::string get(const std::string& flag, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& flag) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Everything after a literal "--" (for `jitctl exec -- CMD ...`).
  const std::vector<std::string>& rest() const { return rest_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> switches_;
  std::vector<std::string> positional_, rest_;
};

}  // namespace jitb::client
