// What the conformance suite needs from a backend: an empty database of its own per test, and
// stores opened on it (again, to check what survives a reopen).
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "broker/core/status.h"
#include "broker/store/store.h"

namespace jitb::store::conformance {

class StoreEnv {
 public:
  virtual ~StoreEnv() = default;
  // A store on this environment's database; every call opens the same data.
  virtual core::StatusOr<std::unique_ptr<Store>> open() = 0;
  // Whether several stores may write to the database at once (replicas). SQLite's design is one
  // store per file: its races are between threads sharing that one store.
  virtual bool severalWriters() const = 0;
  // Makes each lease insert take a few milliseconds between its read and its commit, where the
  // backend can, as a slow disk would: the window in which a concurrent close must not be
  // missed. Called after open().
  virtual core::Status slowLeaseInserts() { return core::okStatus(); }
};

struct Backend {
  std::string name;
  // A fresh, empty environment; a failure is reported as the test's failure.
  std::function<core::StatusOr<std::unique_ptr<StoreEnv>>()> make;
};

// So that gtest names the parameter rather than dumping its bytes into test names.
inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

}  // namespace jitb::store::conformance
