#include "broker/keystore/shared_ca.h"

#include <openssl/crypto.h>

#include <string_view>

namespace jitb::keystore {

namespace {

// Splits "A-PEM B-PEM" after the first block's END line.
std::pair<std::string_view, std::string_view> splitPem(std::string_view both,
                                                       std::string_view end_line) {
  size_t at = both.find(end_line);
  if (at == std::string_view::npos) return {both, {}};
  at += end_line.size();
  if (at < both.size() && both[at] == '\n') ++at;
  return {both.substr(0, at), both.substr(at)};
}

core::Status fromCa(const ca::Error& e) {
  return core::Status(core::Code::kInternal, "CA: " + e.message);
}

}  // namespace

core::StatusOr<std::unique_ptr<ca::CertificateAuthority>> loadOrCreateCa(SharedKeys& keys,
                                                                         const ca::CaConfig& cfg,
                                                                         core::TimePoint now) {
  auto make = [&]() -> core::StatusOr<NewKey> {
    auto m = ca::makeCaMaterial(cfg.name, cfg.algorithm, now);
    if (!m.ok()) return fromCa(m.error());
    NewKey k;
    k.key_id = "ca-1";
    k.algorithm = ca::keyAlgorithmName(cfg.algorithm);
    k.public_data = m->intermediate_cert_pem + m->root_cert_pem;
    k.secret = m->intermediate_key_pem + m->root_key_pem;
    OPENSSL_cleanse(m->intermediate_key_pem.data(), m->intermediate_key_pem.size());
    OPENSSL_cleanse(m->root_key_pem.data(), m->root_key_pem.size());
    return k;
  };
  auto row = keys.firstOrCreate(kCaPurpose, make, now);
  if (!row.ok()) return row.status();
  ca::CaMaterial m;
  auto [inter_cert, root_cert] = splitPem(row->row.public_data, "-----END CERTIFICATE-----");
  auto [inter_key, root_key] = splitPem(row->secret, "-----END PRIVATE KEY-----");
  m.intermediate_cert_pem = inter_cert;
  m.root_cert_pem = root_cert;
  m.intermediate_key_pem = inter_key;
  m.root_key_pem = root_key;
  auto authority = ca::CertificateAuthority::fromMaterial(cfg, m);
  OPENSSL_cleanse(m.intermediate_key_pem.data(), m.intermediate_key_pem.size());
  OPENSSL_cleanse(m.root_key_pem.data(), m.root_key_pem.size());
  if (!authority.ok()) return fromCa(authority.error());
  return std::move(*authority);
}

core::StatusOr<ca::SshCa> loadOrCreateSshCa(SharedKeys& keys, ca::KeyAlgorithm algorithm,
                                            core::TimePoint now) {
  auto make = [&]() -> core::StatusOr<NewKey> {
    if (algorithm != ca::KeyAlgorithm::kEd25519 && algorithm != ca::KeyAlgorithm::kRsa3072)
      return core::invalidArgument("the SSH CA key must be ed25519 or rsa3072");
    auto key = ca::PrivateKey::generate(algorithm);
    if (!key.ok()) return fromCa(key.error());
    NewKey k;
    k.secret = key->exportPemForHolder();
    auto ssh = ca::SshCa::fromKey(std::move(*key));
    if (!ssh.ok()) return fromCa(ssh.error());
    k.key_id = "ssh_ca-1";
    k.algorithm = ca::keyAlgorithmName(algorithm);
    k.public_data = ssh->publicKeyLine();
    return k;
  };
  auto row = keys.firstOrCreate(kSshCaPurpose, make, now);
  if (!row.ok()) return row.status();
  auto key = ca::PrivateKey::fromPem(row->secret);
  if (!key.ok()) return fromCa(key.error());
  auto ssh = ca::SshCa::fromKey(std::move(*key));
  if (!ssh.ok()) return fromCa(ssh.error());
  return std::move(*ssh);
}

}  // namespace jitb::keystore
