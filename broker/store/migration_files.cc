#include "broker/store/migration_files.h"

#include <algorithm>
#include <charconv>
#include <string>

namespace jitb::store {

core::StatusOr<std::vector<Migration>> orderedMigrations(const EmbeddedFiles& files) {
  std::vector<Migration> out;
  for (const auto& [name, sql] : files) {
    int v = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
    if (ec != std::errc() || p == name.data() || *p != '_')
      return core::internalError("migration file without a number: " + std::string(name));
    out.push_back({v, name, sql});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].version != static_cast<int>(i) + 1)
      return core::internalError("migrations are not numbered 1, 2, ...: " +
                                 std::string(out[i].name));
  return out;
}

}  // namespace jitb::store
