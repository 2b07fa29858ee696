#include "policies/engine/policy_set.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace jitb::policies {

namespace fs = std::filesystem;

const char* certProfileName(CertProfile p) {
  switch (p) {
    case CertProfile::kClient:
      return "client";
    case CertProfile::kServer:
      return "server";
    case CertProfile::kSpiffe:
      return "spiffe";
  }
  return "client";
}

const Grant* PolicySet::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &grants_[it->second];
}

std::optional<PolicyError> PolicySet::merge(PolicySet&& other) {
  for (size_t i = 0; i < other.grants_.size(); ++i)
    if (const Grant& g = other.grants_[i]; const Grant* first = find(g.name))
      return PolicyError{g.file, g.line, "grants[" + std::to_string(i) + "].name",
                         "duplicate grant name '" + g.name + "' (first defined at " + first->file +
                             ":" + std::to_string(first->line) + ")"};
  for (Grant& g : other.grants_) {
    by_name_.emplace(g.name, grants_.size());
    grants_.push_back(std::move(g));
  }
  files_.insert(files_.end(), other.files_.begin(), other.files_.end());
  return std::nullopt;
}

Parsed<PolicySet> PolicySet::loadDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return PolicyError{dir, 0, "",
                       "not a readable policy folder" + (ec ? ": " + ec.message() : std::string())};
  // Hidden files are skipped so an editor's swap or backup file never becomes policy.
  std::vector<std::string> names;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::string ext = it->path().extension().string();
    if (name.empty() || name[0] == '.' || (ext != ".yaml" && ext != ".yml")) continue;
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    names.push_back(name);
  }
  if (ec) return PolicyError{dir, 0, "", "cannot list the policy folder: " + ec.message()};
  if (names.empty())
    return PolicyError{dir, 0, "", "no *.yaml or *.yml policy files in the folder"};
  std::sort(names.begin(), names.end());

  PolicySet all;
  for (const std::string& name : names) {
    std::string path = (fs::path(dir) / name).string();
    std::error_code sec;
    if (fs::file_size(path, sec) > (1u << 20) && !sec)
      return PolicyError{path, 0, "", "policy file is larger than 1 MiB"};
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) return PolicyError{path, 0, "", "cannot open the policy file"};
    std::ostringstream text;
    if (in.peek() != std::ifstream::traits_type::eof()) text << in.rdbuf();
    if (in.bad()) return PolicyError{path, 0, "", "cannot read the policy file"};
    Parsed<PolicySet> one = parseFile(text.str(), path);
    if (!one.ok()) return one.error();
    if (auto err = all.merge(std::move(one).value())) return *err;
  }
  return all;
}

std::optional<PolicyError> PolicySet::requireIssuers() const {
  for (const Grant& g : grants_)
    if (g.issuers.empty())
      return PolicyError{g.file, g.line, "subjects.issuer",
                         "grant '" + g.name +
                             "' must name its issuer(s) in 'subjects.issuer': the broker trusts "
                             "more than one issuer"};
  return std::nullopt;
}

}  // namespace jitb::policies
