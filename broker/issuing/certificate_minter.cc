#include "broker/issuing/certificate_minter.h"

#include <algorithm>
#include <boost/json.hpp>

#include "broker/core/duration.h"

namespace jitb::issuing {

namespace json = boost::json;

std::variant<Minted, MintRefusal> CertificateMinter::mint(const MintContext& ctx) {
  const policies::Decision& dec = ctx.decision;
  const std::string& subject = ctx.request.caller.subject;
  CertRequest cr;
  cr.csr = ctx.request.server_key ? std::string() : ctx.request.csr;
  cr.profile = dec.cert_profile;
  // The subject as CN when it fits (64 characters, RFC 5280 ub-common-name); SPIFFE
  // identities live in the URI SAN alone.
  if (dec.cert_profile != policies::CertProfile::kSpiffe && subject.size() <= 64)
    cr.common_name = subject;
  cr.uri_sans = dec.uri_sans;
  cr.dns_sans = dec.dns_sans;
  if (!ctx.request.dns_names.empty()) {
    for (const auto& n : ctx.request.dns_names)
      if (std::find(dec.dns_sans.begin(), dec.dns_sans.end(), n) == dec.dns_sans.end())
        return MintRefusal{core::Status(core::Code::kPermissionDenied,
                                        "grant " + dec.grant + " does not allow the name " + n),
                           std::nullopt};
    cr.uri_sans.clear();
    cr.dns_sans = ctx.request.dns_names;
  }
  cr.not_after = ctx.now + dec.ttl;
  auto cert = ca_.issue(cr, ctx.now);
  if (!cert.ok()) {
    audit::Record refused{"certificate.refused",
                          {{"ticket", ctx.ticket.id},
                           {"subject", subject},
                           {"message", cert.status().message()}}};
    return MintRefusal{cert.status(), std::move(refused)};
  }
  Minted m;
  m.lease.kind = store::LeaseKind::kCertificate;
  m.lease.expires_at = core::unixMillis(cert->not_after);
  m.lease.serial = cert->serial_hex;
  json::array chain;
  for (const auto& pem : cert->chain_pem) chain.emplace_back(pem);
  m.fields = {
      {"certificate", cert->certificate_pem},
      {"ca_chain", std::move(chain)},
      {"serial", cert->serial_hex},
      {"not_after", core::formatRfc3339(cert->not_after)},
      {"expires_in", std::chrono::ceil<std::chrono::seconds>(cert->not_after - ctx.now).count()}};
  if (ctx.request.server_key) m.fields["private_key"] = cert->private_key_pem;
  return m;
}

}  // namespace jitb::issuing
