#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/engine/grant.h"
#include "policies/engine/result.h"

namespace jitb::policies {

// An immutable, validated set of grants. Cheap to share: the broker holds it behind a
// shared_ptr<const PolicySet> and swaps the pointer on reload. All const members are safe to
// call from any number of threads.
class PolicySet {
 public:
  PolicySet() = default;

  // Parses one policy file's text. `file_name` is only used in error messages and in each
  // Grant's `file`. Never throws.
  static Parsed<PolicySet> parseFile(std::string_view yaml, const std::string& file_name);

  // Loads every *.yaml / *.yml file of `dir` (not hidden ones, not subfolders) in file-name
  // order. All or nothing: any broken file, a grant name defined twice (the error names both
  // places), an unreadable or empty folder gives an error and no set. Never throws.
  static Parsed<PolicySet> loadDir(const std::string& dir);

  // With more than one trusted issuer a grant that names none would let the same `sub` from
  // any of them match: the first such grant as an error (FILE:LINE), nullopt when all name one.
  std::optional<PolicyError> requireIssuers() const;

  // nullptr when there is no grant of that name.
  const Grant* find(std::string_view name) const;
  const std::vector<Grant>& grants() const { return grants_; }
  size_t size() const { return grants_.size(); }
  // The files the set was loaded from, in load order (for banners and `policy check`).
  const std::vector<std::string>& files() const { return files_; }

 private:
  friend class PolicyParser;
  // Appends `other`'s grants; on a duplicate name returns the error and leaves *this unchanged.
  std::optional<PolicyError> merge(PolicySet&& other);

  std::vector<Grant> grants_;
  std::map<std::string, size_t, std::less<>> by_name_;
  std::vector<std::string> files_;
};

}  // namespace jitb::policies
