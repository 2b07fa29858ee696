// The wire adapter of ACME (docs/acme.md): the RFC 8555 routes under /acme/ over
// acme::AcmeService, with a Replay-Nonce on every answer, and POST /v1/acme/eab, where a
// caller's JWT and an approved ticket become an external account binding key through the
// issuance service (judged like any issuance, recorded as a lease of the ticket). Thread-safe.
#pragma once

#include <string>

#include "broker/acme/service.h"
#include "broker/http/message.h"
#include "broker/http/router.h"
#include "broker/issuing/service.h"

namespace jitb::api {

struct AcmeApiDeps {
  acme::AcmeService& acme;
  issuing::IssuanceService& issuing;
  std::string directory_url;
};

class AcmeApi {
 public:
  explicit AcmeApi(AcmeApiDeps deps) : d_(std::move(deps)) {}
  void addRoutes(http::Router& router);

 private:
  http::Response toHttp(acme::Reply r);
  void eab(http::Request& req, const http::Responder& respond);
  AcmeApiDeps d_;
};

}  // namespace jitb::api
