// gmock stand-in for audit::AuditSink, for unit tests that check which audit records a part
// writes (or script a failing audit log) without a log file.
#pragma once

#include <gmock/gmock.h>

#include <vector>

#include "broker/audit/audit_log.h"

namespace jitb::testing {

class MockAuditSink : public audit::AuditSink {
 public:
  MOCK_METHOD(core::Status, appendAll, (std::vector<audit::Record>), (override));
};

}  // namespace jitb::testing
