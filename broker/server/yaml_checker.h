// Walks a YAML tree for the config parser, remembering the first error with its line so that
// messages read "FILE:LINE: message naming the key". Internal to broker/server.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/core/duration.h"
#include "broker/core/status.h"
#include "policies/engine/edit_distance.h"

namespace jitb::server {

using policies::editDistance;

// yaml-cpp marks are 0-based.
class Checker {
 public:
  Checker(std::string file, std::string base) : file_(std::move(file)), base_(std::move(base)) {}

  bool failed() const { return err_.has_value(); }
  core::Status error() const { return *err_; }

  bool fail(const YAML::Node& at, const std::string& msg) {
    if (!err_) {
      int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
      err_ = core::invalidArgument(file_ + ":" + std::to_string(line) + ": " + msg);
    }
    return false;
  }

  // Every key of `map` must be one of `allowed`.
  bool keys(const YAML::Node& map, const std::string& where,
            std::span<const std::string_view> allowed) {
    if (!map.IsMap()) return fail(map, "'" + where + "' must be a mapping");
    for (auto it = map.begin(); it != map.end(); ++it) {
      std::string k = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      std::string msg = "unknown key '" + k + "'" + (where.empty() ? "" : " in '" + where + "'");
      for (auto a : allowed)
        if (editDistance(k, a) <= 2) {
          msg += " (did you mean '" + std::string(a) + "'?)";
          break;
        }
      return fail(it->first, msg);
    }
    return true;
  }

  bool str(const YAML::Node& map, const char* key, const std::string& path, std::string& out) {
    const YAML::Node n = map[key];
    if (!n) return true;
    if (!n.IsScalar()) return fail(n, "'" + path + "' must be a string");
    out = n.Scalar();
    return true;
  }

  bool path(const YAML::Node& map, const char* key, const std::string& p, std::string& out) {
    if (!str(map, key, p, out)) return false;
    namespace fs = std::filesystem;
    if (!out.empty() && fs::path(out).is_relative()) out = (fs::path(base_) / out).lexically_normal();
    return true;
  }

  bool integer(const YAML::Node& map, const char* key, const std::string& path, int64_t& out,
               int64_t min, int64_t max) {
    const YAML::Node n = map[key];
    if (!n) return true;
    auto v = scalarAs<int64_t>(n);
    if (!v) return fail(n, "'" + path + "' must be an integer");
    if (*v < min || *v > max)
      return fail(n, "'" + path + "' must be between " + std::to_string(min) + " and " +
                         std::to_string(max));
    out = *v;
    return true;
  }

  bool duration(const YAML::Node& map, const char* key, const std::string& path,
                std::chrono::milliseconds& out) {
    const YAML::Node n = map[key];
    if (!n) return true;
    auto d = n.IsScalar() ? core::parseDuration(n.Scalar()) : std::nullopt;
    if (!d || d->count() == 0)
      return fail(n, "'" + path + "' must be a duration such as 30s, 15m or 1h");
    out = *d;
    return true;
  }

  bool strings(const YAML::Node& map, const char* key, const std::string& path,
               std::vector<std::string>& out) {
    const YAML::Node n = map[key];
    if (!n) return true;
    if (!n.IsSequence()) return fail(n, "'" + path + "' must be a list of strings");
    out.clear();
    for (const auto& e : n) {
      if (!e.IsScalar() || e.Scalar().empty()) return fail(e, "'" + path + "' entries must be non-empty strings");
      out.push_back(e.Scalar());
    }
    return true;
  }

  bool stringMap(const YAML::Node& map, const char* key, const std::string& path,
                 std::map<std::string, std::string>& out) {
    const YAML::Node n = map[key];
    if (!n) return true;
    if (!n.IsMap()) return fail(n, "'" + path + "' must be a mapping of strings");
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->second.IsScalar()) return fail(it->second, "'" + path + "." + it->first.Scalar() + "' must be a string");
      out[it->first.Scalar()] = it->second.Scalar();
    }
    return true;
  }

  bool number(const YAML::Node& map, const char* key, const std::string& path, double& out,
              double min, double max) {
    const YAML::Node n = map[key];
    if (!n) return true;
    auto v = scalarAs<double>(n);
    if (!v || *v < min || *v > max)
      return fail(n, "'" + path + "' must be a number between " + std::to_string(static_cast<int64_t>(min)) +
                         " and " + std::to_string(static_cast<int64_t>(max)));
    out = *v;
    return true;
  }

 private:
  // A scalar that is a T and nothing more ("12x" is not 12); nullopt otherwise.
  template <class T>
  static std::optional<T> scalarAs(const YAML::Node& n) {
    if (!n.IsScalar()) return std::nullopt;
    const std::string& s = n.Scalar();
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
  }

  std::string file_;
  std::string base_;
  std::optional<core::Status> err_;
};

}  // namespace jitb::server
