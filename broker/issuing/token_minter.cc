#include "broker/issuing/token_minter.h"

#include <boost/json.hpp>

#include "broker/core/files.h"

namespace jitb::issuing {

namespace json = boost::json;

std::variant<Minted, MintRefusal> TokenMinter::mint(const MintContext& ctx) {
  const policies::Decision& dec = ctx.decision;
  std::string jti = core::timeOrderedHex(ctx.now, 10);  // 32 hex digits, 80 of their bits random
  core::TimePoint exp = ctx.now + dec.ttl;
  std::string scope;
  for (const auto& s : dec.scopes) scope += (scope.empty() ? "" : " ") + s;
  json::object claims{{"iss", issuer_url_},         {"sub", ctx.request.caller.subject},
                      {"aud", dec.audience},        {"exp", core::unixSeconds(exp)},
                      {"iat", core::unixSeconds(ctx.now)}, {"nbf", core::unixSeconds(ctx.now)},
                      {"jti", jti},                 {"scope", scope},
                      {"ticket", ctx.ticket.id},    {"grant", dec.grant}};
  auto token = tokens_.sign(claims);
  if (!token.ok()) return MintRefusal{token.status(), std::nullopt};
  Minted m;
  m.lease.kind = store::LeaseKind::kToken;
  m.lease.expires_at = core::unixMillis(exp);
  m.lease.jti = jti;
  m.lease.claims = json::serialize(claims);
  m.fields = {{"access_token", *token}, {"expires_in", dec.ttl.count()}, {"scope", scope}};
  return m;
}

}  // namespace jitb::issuing
