// The exchange (docs/api.md#issuing): a verified caller plus an approved ticket, judged by the
// policy, becomes a signed token or a certificate, recorded as a durable lease before it is
// returned. Also introspection (RFC 7662) and holder revocation (RFC 7009). Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "broker/api/admin.h"
#include "broker/audit/audit_log.h"
#include "broker/http/message.h"
#include "broker/http/router.h"
#include "broker/issuing/lookup_gate.h"
#include "broker/issuing/ports.h"
#include "broker/leases/lease_manager.h"
#include "broker/metrics/registry.h"
#include "broker/tickets/source.h"

namespace jitb::issuing {

struct IssuerDeps {
  CallerVerifier& callers;
  TokenService& tokens;
  CertificateIssuer* certificates;  // null until a CA is configured
  PeerAuthenticator* peers;         // mTLS callers; null to accept JWT callers only
  const PolicyHolder& policies;
  tickets::TicketLookup& tickets;  // reads a source first when the ticket is stale
  leases::LeaseManager& leases;
  store::Store& store;
  audit::AuditSink& audit;
  const core::Clock& clock;
  metrics::Registry& metrics;
  std::string issuer_url;  // "iss" of issued tokens: the broker's public_url
  // Where work that may wait on the network runs, limited per caller; null: the responder's
  // offload (a handler thread), unlimited.
  LookupGate* lookups = nullptr;
};

class Issuer {
 public:
  explicit Issuer(IssuerDeps deps);

  // Answer through `respond`: a refusal at once (a denial once it is audited), an issuance
  // once its lease and audit records are durable; no thread waits for a sync. They run on the
  // calling thread (an I/O thread) unless they may wait on the network (an issuer's keys to
  // fetch, a ticket to read from its source): then they move to the lookup gate's threads, or
  // are refused with 503 when the gate is full or the caller is at its limit.
  void exchangeToken(http::Request& req, const http::Responder& respond,
                     bool on_handler_thread = false);
  void issueCertificate(http::Request& req, const http::Responder& respond,
                        bool on_handler_thread = false);
  http::Response introspect(http::Request& req);
  http::Response revoke(http::Request& req);

 private:
  struct Judged;
  // A refusal, with the audit record that must be durable before it is sent.
  struct Answer {
    Answer(http::Response r) : response(std::move(r)) {}  // NOLINT: most answers have no record
    Answer(http::Response r, audit::Record a) : response(std::move(r)), record(std::move(a)) {}
    http::Response response;
    std::optional<audit::Record> record;
  };
  void answer(Answer a, const http::Responder& respond);
  // Runs `entry` again on a lookup thread (see IssuerDeps::lookups), for a request whose next
  // step may wait on the network; the answer comes from there, or a 503 now when it is full.
  using Entry = void (Issuer::*)(http::Request&, const http::Responder&, bool);
  std::optional<Answer> onHandlerThread(Entry entry, http::Request& req,
                                        const http::Responder& respond);
  // On a lookup thread, once the caller is verified: its share of the gate, or the refusal.
  std::optional<Answer> admitLookup(const Caller& caller, std::optional<LookupGate::Permit>& permit);
  // nullopt when the answer is left to the commit (or to the handler thread it moved to).
  std::optional<Answer> tokenExchange(http::Request& req, const http::Responder& respond,
                                      bool on_handler_thread);
  std::optional<Answer> certificate(http::Request& req, const http::Responder& respond,
                                    bool on_handler_thread);
  // Loads the ticket and runs the policy; on denial returns the answer to send.
  std::optional<Answer> judge(const Caller& caller, const std::string& ticket_id,
                              const policies::IssueRequest& request, bool oauth, Judged& out);
  struct Commit;
  // Records the lease and audits the issuance, both at once; `respond` gets `issued` when both
  // are durable, otherwise the refusal.
  void commit(const Judged& j, store::LeaseRow lease, bool oauth, http::Response issued,
              const http::Responder& respond);
  void committed(const std::shared_ptr<Commit>& c);
  // A lease that was not recorded or not audited: the answer instead (may block).
  http::Response refused(const Commit& c);
  core::StatusOr<Caller> identify(const http::Request& req, std::string_view jwt);

  IssuerDeps d_;
};

void addIssuingRoutes(http::Router& router, Issuer& issuer, const api::AdminAuth& admin);

}  // namespace jitb::issuing
