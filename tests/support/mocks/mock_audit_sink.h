// gmock stand-in for audit::AuditSink. Both entry points are mocked, so a test can script a
// failed append or hold appendAllThen's completion to choose when the audit "finishes".
// recordTo() makes both succeed at once and keep what they were given.
#pragma once

#include <gmock/gmock.h>

#include <mutex>
#include <vector>

#include "broker/audit/audit_log.h"

namespace jitb::testing {

class MockAuditSink : public audit::AuditSink {
 public:
  MOCK_METHOD(core::Status, appendAll, (std::vector<audit::Record>), (override));
  MOCK_METHOD(void, appendAllThen, (std::vector<audit::Record>, Done, Durability), (override));

  // Default actions: every append succeeds at once and its records go to `out`.
  void recordTo(std::vector<audit::Record>& out) {
    ON_CALL(*this, appendAll).WillByDefault([this, &out](std::vector<audit::Record> r) {
      std::lock_guard lk(mu_);
      for (auto& x : r) out.push_back(std::move(x));
      return core::okStatus();
    });
    ON_CALL(*this, appendAllThen)
        .WillByDefault([this, &out](std::vector<audit::Record> r, Done done, Durability) {
          {
            std::lock_guard lk(mu_);
            for (auto& x : r) out.push_back(std::move(x));
          }
          done(core::okStatus());
        });
  }

 private:
  std::mutex mu_;
};

}  // namespace jitb::testing
