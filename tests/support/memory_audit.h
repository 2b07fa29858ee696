// An audit sink that keeps what it is given, for tests that check what was (or was not) audited.
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "broker/audit/audit_log.h"

namespace jitb::testing {

class MemoryAudit final : public audit::AuditSink {
 public:
  core::Status appendAll(std::vector<audit::Record> records) override {
    std::lock_guard lk(mu_);
    for (auto& r : records) records_.push_back(std::move(r));
    return core::okStatus();
  }
  std::vector<audit::Record> records() {
    std::lock_guard lk(mu_);
    return records_;
  }
  size_t count(std::string_view event) {
    std::lock_guard lk(mu_);
    size_t n = 0;
    for (const auto& r : records_) n += r.event == event;
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<audit::Record> records_;
};

}  // namespace jitb::testing
