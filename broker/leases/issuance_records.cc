#include "broker/leases/issuance_records.h"

#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "broker/leases/lease_id.h"

namespace jitb::leases {

std::vector<audit::Record> issuanceRecords(const store::LeaseRow& lease) {
  core::TimePoint expires{std::chrono::milliseconds(lease.expires_at)};
  boost::json::object fields{
      {"lease", lease.id},
      {"kind", store::toString(lease.kind)},
      {"ticket", lease.ticket},
      {"grant", lease.grant},
      {"subject", lease.subject},
      {"expires_at", core::formatRfc3339(expires)}};
  if (!lease.jti.empty()) fields["jti"] = lease.jti;
  if (!lease.serial.empty()) fields["serial"] = lease.serial;
  std::vector<audit::Record> records;
  if (lease.review) {
    records.push_back({"lease.issued", fields});
    fields["review"] = "break_glass";
    records.push_back({"review.required", std::move(fields)});
  } else {
    records.push_back({"lease.issued", std::move(fields)});
  }
  return records;
}

core::StatusOr<size_t> restoreIssuanceRecords(store::Store& store, audit::AuditLog& log) {
  const audit::AuditLog::Recent recent = log.takeRecent();
  if (!recent.last) return size_t{0};  // an empty log: nothing was acknowledged
  store::LeaseFilter page;
  page.after_id = leaseIdFloor(*recent.last - audit::AuditLog::kRecentWindow);
  page.limit = 1000;
  size_t restored = 0;
  for (;;) {
    auto leases = store.listLeases(page);
    if (!leases.ok()) return leases.status();
    std::vector<audit::Record> records;  // one sync a page
    for (const store::LeaseRow& l : *leases) {
      // Operator tokens are audited (operator_token.issued) before their lease exists, so
      // none is lost; their jti is the token's digest, which stays out of the log.
      if (recent.issued.count(l.id) || l.reason == "audit_failed" ||
          l.kind == store::LeaseKind::kOperator)
        continue;
      for (audit::Record& r : issuanceRecords(l)) {
        // What the store says of the lease now: it may have ended since (its record of that
        // is lost with the rest of the log's suffix).
        r.fields["recovered"] = true;
        r.fields["state"] = store::toString(l.state);
        if (!l.reason.empty()) r.fields["reason"] = l.reason;
        records.push_back(std::move(r));
      }
      ++restored;
    }
    if (!records.empty()) {
      if (core::Status st = log.appendAll(std::move(records)); !st.ok()) return st;
    }
    if (leases->size() < static_cast<size_t>(page.limit)) return restored;
    page.after_id = leases->back().id;
  }
}

}  // namespace jitb::leases
