#include "broker/issuing/ssh_minter.h"

#include <openssl/rand.h>

#include <boost/json.hpp>

#include "broker/core/duration.h"

namespace jitb::issuing {

namespace json = boost::json;

namespace {

// Random so that a serial says nothing about issuance volume and cannot be guessed; never 0,
// which a KRL cannot list.
std::optional<uint64_t> randomSerial() {
  uint64_t s = 0;
  while (s == 0)
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&s), sizeof s) != 1) return std::nullopt;
  return s;
}

}  // namespace

std::variant<Minted, MintRefusal> SshMinter::mint(const MintContext& ctx) {
  const policies::Decision& dec = ctx.decision;
  auto key = ca::parseSshPublicKey(ctx.request.ssh_public_key);
  if (!key.ok()) return MintRefusal{core::invalidArgument(key.error().message), std::nullopt};
  auto serial = randomSerial();
  if (!serial) return MintRefusal{core::internalError("no randomness for a serial"), std::nullopt};
  ca::SshUserCertRequest req;
  req.key = std::move(*key);
  req.serial = *serial;
  req.key_id = ctx.lease_id;
  req.principals = dec.ssh_principals;
  req.valid_before = ctx.now + dec.ttl;
  if (!dec.ssh_force_command.empty())
    req.critical_options.emplace_back("force-command", dec.ssh_force_command);
  if (!dec.ssh_source_address.empty())
    req.critical_options.emplace_back("source-address", dec.ssh_source_address);
  req.extensions = dec.ssh_extensions;
  auto cert = ca_.signUser(req, ctx.now);
  if (!cert.ok()) {
    core::Status st = cert.error().code == ca::ErrorCode::kInvalidArgument
                          ? core::invalidArgument(cert.error().message)
                          : core::internalError(cert.error().message);
    audit::Record refused{"ssh_certificate.refused",
                          {{"ticket", ctx.ticket.id},
                           {"subject", ctx.request.caller.subject},
                           {"message", cert.error().message}}};
    return MintRefusal{st, std::move(refused)};
  }
  Minted m;
  m.lease.kind = store::LeaseKind::kSsh;
  m.lease.expires_at = core::unixMillis(cert->valid_before);
  m.lease.serial = std::to_string(*serial);
  json::array principals;
  for (const auto& p : dec.ssh_principals) principals.emplace_back(p);
  m.fields = {{"certificate", cert->line},
              {"serial", m.lease.serial},
              {"key_id", ctx.lease_id},
              {"principals", std::move(principals)},
              {"valid_after", core::formatRfc3339(cert->valid_after)},
              {"valid_before", core::formatRfc3339(cert->valid_before)}};
  return m;
}

}  // namespace jitb::issuing
