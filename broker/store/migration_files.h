// Numbered schema files (NNNN_name.sql) embedded in the binary, shared by both backends.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "broker/core/status.h"

namespace jitb::store {

using EmbeddedFiles = std::vector<std::pair<std::string_view, std::string_view>>;

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The files in version order. A file without a number, a gap or a duplicate number is a build
// mistake that opening a store reports (and the store tests catch).
core::StatusOr<std::vector<Migration>> orderedMigrations(const EmbeddedFiles& files);

}  // namespace jitb::store
