// A real SQLite store in a temp dir, a fake clock and an in-memory audit sink.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "broker/audit/audit_log.h"
#include "broker/core/files.h"
#include "broker/leases/lease_manager.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/memory_audit.h"

namespace jitb::testing {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("jitb-lm-" + core::randomHex(6));
    std::filesystem::create_directories(dir_);
    auto s = store::SqliteStore::open((dir_ / "broker.db").string());
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  int64_t nowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock_.now().time_since_epoch())
        .count();
  }
  store::LeaseRow lease(const std::string& id, const std::string& ticket, int64_t ttl_ms,
                        const std::string& subject = "sub") {
    store::LeaseRow l;
    l.id = id;
    l.ticket = ticket;
    l.grant = "deploy";
    l.subject = subject;
    l.issued_at = nowMs();
    l.expires_at = nowMs() + ttl_ms;
    l.jti = "j-" + id;
    return l;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
  MemoryAudit audit_;
  metrics::Registry metrics_;
};

}  // namespace jitb::testing
