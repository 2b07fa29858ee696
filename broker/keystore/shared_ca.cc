#include "broker/keystore/shared_ca.h"

#include <openssl/crypto.h>

#include <functional>
#include <optional>
#include <string_view>

#include "broker/core/log.h"
#include "broker/keystore/data_dir_keys.h"

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

// Version 1 of `purpose`: the stored key, else `found` (read from data_dir, `from`), else a new
// one from `make`. Logs the import when the stored key is the one `found` offered, and refuses
// a start whose data_dir holds another key than the store (see shared_ca.h); `same` compares
// the stored and the offered public data.
core::StatusOr<OpenedKey> firstOrImport(
    SharedKeys& keys, const char* purpose, const std::string& from,
    const std::optional<NewKey>& found, const std::function<core::StatusOr<NewKey>()>& make,
    const std::function<bool(const std::string&, const std::string&)>& same,
    core::TimePoint now) {
  bool offered = false;
  auto row = keys.firstOrCreate(
      purpose,
      [&]() -> core::StatusOr<NewKey> {
        if (!found) return make();
        offered = true;
        return *found;
      },
      now);
  if (!row.ok() || !found) return row;
  const std::string& key_id = row->row.key_id;
  if (!same(row->row.public_data, found->public_data)) {
    core::logEvent("warning", "keys", "keys.import_conflict",
                   {{"purpose", purpose}, {"from", from}, {"stored_key_id", key_id}});
    return core::conflict(from + " holds another " + purpose +
                          " key than the store, whose key stands for every replica; refusing "
                          "to start, as what the other key signed could no longer be revoked. "
                          "Move that key out of data_dir to join these replicas.");
  }
  if (offered)
    core::logEvent("info", "keys", "keys.imported",
                   {{"purpose", purpose}, {"from", from}, {"key_ids", key_id}});
  return row;
}

}  // namespace

core::StatusOr<std::unique_ptr<ca::CertificateAuthority>> loadOrCreateCa(
    SharedKeys& keys, const ca::CaConfig& cfg, core::TimePoint now, const std::string& import_dir) {
  std::optional<NewKey> found;
  if (!import_dir.empty()) {
    auto read = readCaFolder(import_dir);
    if (!read.ok()) return read.status();
    found = std::move(*read);
  }
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
  auto row = firstOrImport(keys, kCaPurpose, import_dir, found, make, sameCertificates, now);
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
                                            core::TimePoint now, const std::string& import_file) {
  std::optional<NewKey> found;
  if (!import_file.empty()) {
    auto read = readSshCaKey(import_file);
    if (!read.ok()) return read.status();
    found = std::move(*read);
  }
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
  auto row = firstOrImport(keys, kSshCaPurpose, import_file, found, make, std::equal_to<>(), now);
  if (!row.ok()) return row.status();
  auto key = ca::PrivateKey::fromPem(row->secret);
  if (!key.ok()) return fromCa(key.error());
  auto ssh = ca::SshCa::fromKey(std::move(*key));
  if (!ssh.ok()) return fromCa(ssh.error());
  return std::move(*ssh);
}

}  // namespace jitb::keystore
