// Error values for the policy engine. yaml-cpp throws; nothing thrown inside this module may
// escape it, so every entry point returns one of these instead.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace jitb::policies {

// Where and why a policy file (or directory) was refused. `line` is 1-based; 0 when the error
// is about a whole file or folder. `key` is the dotted path of the offending key, e.g.
// "grants[0].token.max_ttl" ("" when no key is involved).
struct PolicyError {
  std::string file;
  int line = 0;
  std::string key;
  std::string message;

  // "FILE:LINE: message", or "FILE: message" when there is no line: the form `jitbroker check`
  // and `jitctl policy check` print.
  std::string toString() const {
    if (line > 0) return file + ":" + std::to_string(line) + ": " + message;
    return file + ": " + message;
  }
};

// Holds a T or a PolicyError (g++ 12 has no std::expected).
template <class T>
class Parsed {
 public:
  Parsed(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Parsed(PolicyError error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const PolicyError& error() const { return std::get<PolicyError>(v_); }

 private:
  std::variant<T, PolicyError> v_;
};

}  // namespace jitb::policies
