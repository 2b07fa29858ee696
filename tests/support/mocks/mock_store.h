// gmock stand-in for store::Store, for unit tests of the parts above the store (issuing, api,
// pki) that need to script a store failure or see exactly which writes were made. Tests that
// need real SQL semantics use a SqliteStore in a temporary folder instead.
#pragma once

#include <gmock/gmock.h>

#include "broker/store/store.h"

namespace jitb::testing {

class MockStore : public store::Store {
 public:
  MOCK_METHOD(core::StatusOr<store::TicketWrite>, putTicket, (const store::TicketRow&), (override));
  MOCK_METHOD(core::StatusOr<std::optional<store::TicketRow>>, getTicket, (const std::string&),
              (override));
  // Not a mock: keeps what the lease manager configured, for the test's scripted inserts.
  void setLeaseQuotas(store::LeaseQuotas q) override { quotas = q; }
  store::LeaseQuotas quotas;
  MOCK_METHOD(core::Status, insertLease, (const store::LeaseRow&), (override));
  MOCK_METHOD(void, insertLeaseAsync, (store::LeaseRow, store::InsertDone), (override));
  MOCK_METHOD(core::StatusOr<std::optional<store::LeaseRow>>, getLease, (const std::string&),
              (override));
  MOCK_METHOD(core::StatusOr<std::optional<store::LeaseRow>>, findLeaseByJti,
              (const std::string&), (override));
  MOCK_METHOD(core::StatusOr<std::optional<store::LeaseRow>>, findLeaseBySerial,
              (const std::string&), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::LeaseRow>>, listLeases,
              (const store::LeaseFilter&), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::EndedLease>>, revokeTicket,
              (const std::string&, const std::string&, int64_t), (override));
  MOCK_METHOD(core::StatusOr<std::optional<store::EndedLease>>, endLease,
              (const std::string&, store::LeaseState, const std::string&, int64_t), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::EndedLease>>, endLeases,
              (const std::vector<std::string>&, store::LeaseState, const std::string&, int64_t),
              (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::EndedLease>>, expireDue, (int64_t), (override));
  MOCK_METHOD(core::Status, forEachActive, (const std::function<void(const store::LeaseRow&)>&),
              (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::LeaseRow>>, revokedUnexpiredCertificates,
              (int64_t), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::ActiveTicket>>, activeTickets, (), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::LeaseRow>>, revokedUnexpiredSsh, (int64_t),
              (override));
  MOCK_METHOD(void, enableRevocationJobs, (), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::JobRow>>, dueJobs, (int64_t, int), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::JobRow>>, dueJobsOf,
              (const std::string&, int64_t, int), (override));
  MOCK_METHOD(core::Status, updateLeaseClaims, (const std::string&, const std::string&),
              (override));
  MOCK_METHOD(core::Status, finishJob, (int64_t), (override));
  MOCK_METHOD(core::Status, retryJob,
              (int64_t, int, int64_t, store::JobState, const std::string&), (override));
  MOCK_METHOD((core::StatusOr<std::pair<int64_t, int64_t>>), jobCounts, (), (override));
  MOCK_METHOD(core::StatusOr<int64_t>, nextCounter, (const std::string&), (override));
  MOCK_METHOD(core::StatusOr<bool>, claimDelivery, (const std::string&, int64_t), (override));
  MOCK_METHOD(core::Status, releaseDelivery, (const std::string&), (override));
  MOCK_METHOD(core::StatusOr<store::TicketApplied>, applyTicket,
              (const store::TicketRow&, const store::TicketEffect&), (override));
  MOCK_METHOD(core::Status, finishReview, (const std::string&, int64_t), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::TicketRow>>, pendingReviews, (int64_t, int),
              (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::EndedLease>>, endWindowsDue, (int64_t, int64_t),
              (override));
  MOCK_METHOD(core::Status, insertAcme, (const store::AcmeRow&), (override));
  MOCK_METHOD(core::StatusOr<std::optional<store::AcmeRow>>, getAcme, (const std::string&), (override));
  MOCK_METHOD(core::StatusOr<bool>, updateAcme, (const store::AcmeRow&, const std::string&), (override));
  MOCK_METHOD(core::StatusOr<std::vector<store::AcmeRow>>, listAcme,
              (const std::string&, const std::string&), (override));
};

}  // namespace jitb::testing
