// Wire requests for issuance, parsed into typed values before any caller is verified: the
// RFC 8693 token-exchange form (POST /v1/token), the certificate request (POST
// /v1/certificates) and the one-token forms of RFC 7662 / RFC 7009. The fuzz targets call
// these very functions.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/status.h"
#include "broker/http/message.h"

namespace jitb::api {

inline constexpr std::string_view kTokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kJwtTokenType = "urn:ietf:params:oauth:token-type:jwt";
inline constexpr std::string_view kIdTokenType = "urn:ietf:params:oauth:token-type:id_token";

struct TokenExchangeForm {
  std::string subject_token;  // empty when the client certificate is the subject
  bool client_certificate = false;
  std::string ticket, grant, audience;
  std::vector<std::string> scopes;
  std::optional<std::chrono::seconds> ttl;
};

// `client_certificate_accepted`: the request came with a client certificate and the broker
// accepts such callers; then a form without subject_token names the certificate as subject.
// Errors carry their OAuth error name as detail() (invalid_request, unsupported_grant_type);
// their code is UnsupportedMedia for another content type, else InvalidArgument.
core::StatusOr<TokenExchangeForm> parseTokenExchangeForm(const http::Request& req,
                                                         bool client_certificate_accepted);

struct CertificateRequestBody {
  std::string ticket, csr, grant;
  bool server_key = false;  // "key_type": "server": the broker makes the key pair
  std::optional<std::chrono::seconds> ttl;
};

// The JSON object of POST /v1/certificates (after api::jsonObjectBody). InvalidArgument for a
// field of the wrong type, a missing ticket, a missing csr without "key_type": "server", or a
// ttl that is not a positive whole number.
core::StatusOr<CertificateRequestBody> parseCertificateRequest(const boost::json::object& body);

// The "token" of an RFC 7662 / RFC 7009 form: UnsupportedMedia, InvalidArgument when absent.
core::StatusOr<std::string> parseTokenForm(const http::Request& req);

}  // namespace jitb::api
