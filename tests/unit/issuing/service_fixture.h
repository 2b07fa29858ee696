// IssuanceService over gmock mocks: caller verifier, token signer, CA, ticket lookup, audit
// sink and store, with the real lease manager (its quotas and insert check) over the mock
// store, and a fake clock. The mocks answer at once by default; tests override what they
// script. Nothing here speaks HTTP.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "broker/issuing/acme_account_minter.h"
#include "broker/issuing/certificate_minter.h"
#include "broker/issuing/service.h"
#include "broker/issuing/token_minter.h"
#include "broker/tickets/ticket.h"
#include "tests/support/fake_clock.h"
#include "tests/support/mocks/mock_audit_sink.h"
#include "tests/support/mocks/mock_caller_verifier.h"
#include "tests/support/mocks/mock_certificate_issuer.h"
#include "tests/support/mocks/mock_peer_authenticator.h"
#include "tests/support/mocks/mock_store.h"
#include "tests/support/mocks/mock_ticket_lookup.h"
#include "tests/support/mocks/mock_token_service.h"

namespace jitb::testing {

// A token grant and a certificate grant for callers of https://ci.example.
inline constexpr const char* kServicePolicies = R"(grants:
  - name: deploy
    subjects: {issuer: "https://ci.example"}
    tickets: {kinds: [normal], min_approvals: 1}
    token: {audience: api, scopes: [r, w], max_ttl: 1h}
  - name: cert
    subjects: {issuer: "https://ci.example"}
    tickets: {kinds: [normal]}
    certificate: {profile: client, dns_sans: ["svc.example"], max_ttl: 1h}
)";

class ServiceFixture : public ::testing::Test {
 protected:
  using Outcome = issuing::Outcome;

  void SetUp() override {
    setPolicies(kServicePolicies);
    audit_.recordTo(audited_);
    ticket_.id = "CHG1";
    ticket_.state = "approved";
    ticket_.kind = "normal";
    ticket_.requested_by = "alice@example.com";
    ticket_.approved_by = {"bob@example.com"};
    ticket_.subjects = {"repo:acme/api"};
    ticket_.access = {"deploy", "cert"};
    ticket_.window_start = clock_.now() - std::chrono::hours(1);
    ticket_.window_end = clock_.now() + std::chrono::hours(2);
    ticket_.updated_at = std::chrono::floor<std::chrono::seconds>(clock_.now());
    ON_CALL(tickets_, lookup).WillByDefault([this](const std::string& id) {
      return core::StatusOr<std::optional<tickets::Ticket>>(
          id == ticket_.id ? std::optional<tickets::Ticket>(ticket_) : std::nullopt);
    });
    ON_CALL(tokens_, sign).WillByDefault([this](const boost::json::object& claims) {
      signed_claims_ = claims;
      return core::StatusOr<std::string>("header.payload.sig");
    });
    ON_CALL(ca_, issue).WillByDefault([this](const issuing::CertRequest& r, core::TimePoint) {
      cert_request_ = r;
      issuing::CertResult c;
      c.certificate_pem = "-----CERT-----";
      c.chain_pem = {"-----ICA-----", "-----ROOT-----"};
      c.serial_hex = "0a0b";
      c.not_after = r.not_after;
      if (r.csr.empty()) c.private_key_pem = "-----KEY-----";
      return core::StatusOr<issuing::CertResult>(c);
    });
    // The insert succeeds at once and reads back the ticket that was judged.
    ON_CALL(store_, insertLeaseAsync).WillByDefault([this](store::LeaseRow l, store::InsertDone done) {
      inserted_.push_back(l);
      done(core::okStatus(), storedTicket(ticket_));
    });
    ON_CALL(store_, endLeases).WillByDefault(
        [this](const std::vector<std::string>& ids, store::LeaseState, const std::string& reason,
               int64_t) {
          std::vector<store::EndedLease> out;
          for (const auto& id : ids) {
            ended_.emplace_back(id, reason);
            store::EndedLease e;
            e.id = id;
            out.push_back(e);
          }
          return core::StatusOr<std::vector<store::EndedLease>>(out);
        });
    ON_CALL(store_, endLease).WillByDefault([this](const std::string& id, store::LeaseState,
                                                   const std::string& reason, int64_t) {
      ended_.emplace_back(id, reason);
      store::EndedLease e;
      e.id = id;
      return core::StatusOr<std::optional<store::EndedLease>>(e);
    });
    leases_ = std::make_unique<leases::LeaseManager>(store_, audit_, clock_, quotas_, metrics_);
    service_ = std::make_unique<issuing::IssuanceService>(issuing::ServiceDeps{
        callers_, tokens_, &peers_, policies_, tickets_, *leases_, store_, audit_, clock_, metrics_});
    service_->addMinter(token_minter_);
    service_->addMinter(cert_minter_);
    service_->addMinter(acme_minter_);
  }

  void setPolicies(const std::string& yaml) {
    auto p = policies::PolicySet::parseFile(yaml, "p.yaml");
    ASSERT_TRUE(p.ok()) << p.error().toString();
    policies_.set(std::make_shared<const policies::PolicySet>(std::move(p.value())));
  }

  store::TicketState storedTicket(const tickets::Ticket& t) const {
    return {t.state,
            std::chrono::duration_cast<std::chrono::milliseconds>(t.window_end.time_since_epoch())
                .count(),
            boost::json::serialize(tickets::ticketToJson(t))};
  }

  issuing::Caller caller(const std::string& subject = "repo:acme/api") const {
    return {"https://ci.example", subject, {{"sub", subject}}};
  }
  issuing::IssueRequest tokenRequest() const {
    issuing::IssueRequest r;
    r.caller = caller();
    r.ticket = ticket_.id;
    r.grant = "deploy";
    return r;
  }
  issuing::IssueRequest certRequest() const {
    issuing::IssueRequest r;
    r.caller = caller();
    r.ticket = ticket_.id;
    r.kind = policies::CredentialKind::kCertificate;
    r.grant = "cert";
    r.csr = "-----CSR-----";
    return r;
  }

  // Issues with every continuation run inline; nullopt while the answer is still pending.
  std::optional<Outcome> issue(issuing::IssueRequest r) {
    auto got = std::make_shared<std::optional<Outcome>>();
    ++calls_;
    service_->issue(
        std::move(r),
        [this, got](Outcome o) {
          ++answers_;
          *got = std::move(o);
        },
        [](std::function<void()> fn) { fn(); });
    last_ = got;
    return *got;
  }

  size_t audited(std::string_view event) const {
    size_t n = 0;
    for (const auto& r : audited_) n += r.event == event;
    return n;
  }
  const audit::Record* find(std::string_view event) const {
    for (const auto& r : audited_)
      if (r.event == event) return &r;
    return nullptr;
  }

  ::testing::NiceMock<MockCallerVerifier> callers_;
  ::testing::NiceMock<MockPeerAuthenticator> peers_;
  ::testing::NiceMock<MockTokenService> tokens_;
  ::testing::NiceMock<MockCertificateIssuer> ca_;
  ::testing::NiceMock<MockTicketLookup> tickets_;
  ::testing::NiceMock<MockAuditSink> audit_;
  ::testing::NiceMock<MockStore> store_;
  core::FakeClock clock_{std::chrono::system_clock::from_time_t(1795456800)};
  metrics::Registry metrics_;
  issuing::PolicyHolder policies_;
  leases::Quotas quotas_;
  std::unique_ptr<leases::LeaseManager> leases_;
  issuing::TokenMinter token_minter_{tokens_, "https://broker.example"};
  issuing::CertificateMinter cert_minter_{ca_};
  issuing::AcmeAccountMinter acme_minter_;
  std::unique_ptr<issuing::IssuanceService> service_;

  tickets::Ticket ticket_;
  std::vector<audit::Record> audited_;
  std::vector<store::LeaseRow> inserted_;
  std::vector<std::pair<std::string, std::string>> ended_;  // lease id, reason
  boost::json::object signed_claims_;
  issuing::CertRequest cert_request_;
  std::shared_ptr<std::optional<Outcome>> last_;
  int calls_ = 0, answers_ = 0;
};

}  // namespace jitb::testing
