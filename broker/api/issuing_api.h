// The wire adapters of issuance: POST /v1/token (RFC 8693 form), POST /v1/certificates (JSON),
// POST /v1/introspect (RFC 7662) and POST /v1/revoke (RFC 7009) over issuing::IssuanceService.
// They also decide where a request runs: on the calling I/O thread, unless its caller's keys
// must be fetched or its ticket read from a source; then on the lookup gate's threads, or
// refused with 503 when the gate is full or the caller at its limit. Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "broker/api/admin.h"
#include "broker/http/message.h"
#include "broker/http/router.h"
#include "broker/issuing/lookup_gate.h"
#include "broker/issuing/service.h"
#include "broker/metrics/registry.h"

namespace jitb::api {

struct IssuingApiDeps {
  issuing::IssuanceService& service;
  metrics::Registry& metrics;
  // Where work that may wait on the network runs, limited per caller; null: the responder's
  // offload (a handler thread), unlimited.
  issuing::LookupGate* lookups = nullptr;
  // From the composition root: may verifying this JWT wait on the network (its issuer's keys
  // to fetch)? May looking up this ticket wait on its source? Null: never.
  std::function<bool(std::string_view jwt)> jwt_may_wait;
  std::function<bool(const std::string& ticket)> ticket_may_wait;
};

class IssuingApi {
 public:
  explicit IssuingApi(IssuingApiDeps deps);

  // Answer through `respond`: a refusal at once (a denial once it is audited), an issuance
  // once its lease and audit records are durable.
  void exchangeToken(http::Request& req, const http::Responder& respond,
                     bool on_lookup_thread = false);
  void issueCertificate(http::Request& req, const http::Responder& respond,
                        bool on_lookup_thread = false);
  // POST /v1/ssh/certificates (ssh_issuing_api.cc): an OpenSSH user certificate for a public key.
  void issueSshCertificate(http::Request& req, const http::Responder& respond,
                           bool on_lookup_thread = false);
  // POST /v1/ssh/revoke (ssh_issuing_api.cc): the holder ends its own lease.
  http::Response revokeOwnLease(http::Request& req);
  http::Response introspect(http::Request& req);
  http::Response revoke(http::Request& req);

  // /v1/token, /v1/certificates, /v1/introspect (admin token required), /v1/revoke.
  void addRoutes(http::Router& router, const AdminAuth& admin);

 private:
  using Entry = void (IssuingApi::*)(http::Request&, const http::Responder&, bool);
  // A JSON issuing route: its entry point (to run again on a lookup thread), its body parser
  // (the request without its caller) and the 503's text when its kind is not configured.
  struct JsonRoute {
    Entry entry;
    core::StatusOr<issuing::IssueRequest> (*parse)(const boost::json::object& body);
    const char* unconfigured;
  };
  // The one flow of every JSON issuing route: caller, body, lookup hop, admission, issue.
  void issueJson(http::Request& req, const http::Responder& respond, bool on_lookup_thread,
                 const JsonRoute& route);
  // Runs `entry` again on a lookup thread; nullopt when it moved, else the 503 to send now.
  std::optional<http::Response> moveToLookupThread(Entry entry, http::Request& req,
                                                   const http::Responder& respond);
  // On a lookup thread, once the caller is verified: its share of the gate, or the refusal.
  std::optional<http::Response> admitLookup(const issuing::Caller& caller,
                                            std::optional<issuing::LookupGate::Permit>& permit);
  bool jwtMayWait(std::string_view jwt) const { return d_.jwt_may_wait && d_.jwt_may_wait(jwt); }
  bool ticketMayWait(const std::string& t) const {
    return d_.ticket_may_wait && d_.ticket_may_wait(t);
  }

  IssuingApiDeps d_;
};

}  // namespace jitb::api
