#include "broker/api/issuing_requests.h"

#include <boost/json.hpp>
#include <charconv>

#include "broker/http/form.h"
#include "broker/issuing/lease_review.h"

namespace jitb::api {

using core::Code;
using core::Status;

namespace {

Status invalidRequest(std::string message) {
  return {Code::kInvalidArgument, std::move(message), "invalid_request"};
}

std::optional<std::chrono::seconds> parseTtl(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v <= 0 || v > 366 * 86400)
    return std::nullopt;
  return std::chrono::seconds(v);
}

}  // namespace

core::StatusOr<TokenExchangeForm> parseTokenExchangeForm(const http::Request& req,
                                                         bool client_certificate_accepted) {
  if (!http::hasContentType(req, "application/x-www-form-urlencoded"))
    return Status(Code::kUnsupportedMedia, "the body must be application/x-www-form-urlencoded",
                  "invalid_request");
  auto form = http::parseForm(req.body);
  if (!form.ok()) return invalidRequest(form.status().message());
  auto& f = *form;
  if (f["grant_type"] != kTokenExchangeGrant)
    return Status(Code::kInvalidArgument, "grant_type must be " + std::string(kTokenExchangeGrant),
                  "unsupported_grant_type");
  TokenExchangeForm out;
  out.subject_token = f["subject_token"];
  // Without a subject_token the client certificate is the subject (a service account that
  // holds one of our certificates).
  out.client_certificate = out.subject_token.empty() && client_certificate_accepted;
  if (out.subject_token.empty() && !out.client_certificate)
    return invalidRequest("subject_token is required");
  if (!out.client_certificate && f["subject_token_type"] != kJwtTokenType &&
      f["subject_token_type"] != kIdTokenType)
    return invalidRequest("subject_token_type must be " + std::string(kJwtTokenType));
  out.ticket = f["ticket"];
  if (out.ticket.empty()) return invalidRequest("ticket is required");
  out.grant = f["grant"];
  out.audience = f["audience"];
  out.scopes = issuing::splitScopes(f["scope"]);
  if (!f["ttl"].empty()) {
    out.ttl = parseTtl(f["ttl"]);
    if (!out.ttl) return invalidRequest("ttl must be a positive whole number of seconds");
  }
  return out;
}

core::StatusOr<CertificateRequestBody> parseCertificateRequest(const boost::json::object& body) {
  bool typed = true;
  auto field = [&](const char* k) {
    auto* v = body.if_contains(k);
    if (!v) return std::string();
    if (!v->is_string()) {
      typed = false;
      return std::string();
    }
    return std::string(v->as_string());
  };
  CertificateRequestBody out;
  out.ticket = field("ticket");
  out.csr = field("csr");
  out.grant = field("grant");
  std::string key_type = field("key_type");
  if (!typed) return core::invalidArgument("ticket, csr, grant and key_type must be strings");
  if (out.ticket.empty()) return core::invalidArgument("ticket is required");
  out.server_key = key_type == "server";
  if (out.csr.empty() && !out.server_key)
    return core::invalidArgument("csr is required (or \"key_type\": \"server\" for a broker-made key)");
  if (auto* ttl = body.if_contains("ttl")) {
    if (!ttl->is_int64() || ttl->as_int64() <= 0)
      return core::invalidArgument("ttl must be a positive whole number of seconds");
    out.ttl = std::chrono::seconds(ttl->as_int64());
  }
  return out;
}

core::StatusOr<std::string> parseTokenForm(const http::Request& req) {
  if (!http::hasContentType(req, "application/x-www-form-urlencoded"))
    return Status(Code::kUnsupportedMedia, "the body must be application/x-www-form-urlencoded");
  auto form = http::parseForm(req.body);
  if (!form.ok()) return form.status();
  std::string token = (*form)["token"];
  if (token.empty()) return core::invalidArgument("token is required");
  return token;
}

}  // namespace jitb::api
