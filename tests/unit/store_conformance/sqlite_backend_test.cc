// The conformance suite on SqliteStore: a temp file per test.
#include <filesystem>

#include "broker/core/files.h"
#include "broker/store/sqlite_store.h"
#include "tests/unit/store_conformance/conformance.h"

namespace jitb::store::conformance {
namespace {

namespace fs = std::filesystem;

class SqliteEnv final : public StoreEnv {
 public:
  SqliteEnv() : dir_(fs::temp_directory_path() / ("jitb-conformance-" + core::randomHex(6))) {
    fs::create_directories(dir_);
  }
  ~SqliteEnv() override { fs::remove_all(dir_); }
  core::StatusOr<std::unique_ptr<Store>> open() override {
    auto s = SqliteStore::open((dir_ / "broker.db").string());
    if (!s.ok()) return s.status();
    return std::unique_ptr<Store>(std::move(*s));
  }
  bool severalWriters() const override { return false; }

 private:
  fs::path dir_;
};

Backend sqliteBackend() {
  return {"Sqlite", []() -> core::StatusOr<std::unique_ptr<StoreEnv>> {
            return std::unique_ptr<StoreEnv>(new SqliteEnv());
          }};
}

}  // namespace

INSTANTIATE_STORE_CONFORMANCE(Sqlite, sqliteBackend());

}  // namespace jitb::store::conformance
