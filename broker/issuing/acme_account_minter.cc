#include "broker/issuing/acme_account_minter.h"

#include <boost/json.hpp>

#include "broker/core/encoding.h"
#include "broker/core/files.h"

namespace jitb::issuing {

namespace json = boost::json;

std::variant<Minted, MintRefusal> AcmeAccountMinter::mint(const MintContext& ctx) {
  const policies::Decision& dec = ctx.decision;
  if (dec.dns_sans.empty())
    return MintRefusal{core::Status(core::Code::kPermissionDenied,
                                    "grant " + dec.grant + " allows no DNS names (certificate.dns_sans)"),
                       std::nullopt};
  // Drawn again when its base64url text would start with '-' (the first 6 bits are 62): ACME
  // clients take the key as a command-line argument, and certbot's parser reads "-..." as an
  // option (1 key in 64 would fail with "expected one argument").
  unsigned char key[32];
  do core::randomBytes(key, sizeof key);
  while ((key[0] >> 2) == 62);
  Minted m;
  m.lease.kind = store::LeaseKind::kAcmeAccount;
  m.lease.jti = "eab_" + core::randomHex(16);
  m.lease.expires_at = core::unixMillis(ctx.now + dec.ttl);
  json::array names;
  for (const auto& n : dec.dns_sans) names.emplace_back(n);
  m.fields = {{"kid", m.lease.jti},
              {"hmac_key", core::base64urlEncode(std::string_view(reinterpret_cast<char*>(key), sizeof key))},
              {"dns_sans", std::move(names)},
              {"expires_in", std::chrono::ceil<std::chrono::seconds>(dec.ttl).count()}};
  return m;
}

}  // namespace jitb::issuing
