#include "broker/keystore/data_dir_keys.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>

#include "broker/core/files.h"
#include "broker/jose/jwks.h"
#include "broker/jose/jws.h"
#include "ca/ca_cert.h"
#include "ca/ssh_ca.h"

namespace jitb::keystore {

namespace fs = std::filesystem;

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

core::Status fromCa(const std::string& what, const ca::Error& e) {
  return core::invalidArgument(what + ": " + e.message);
}

// The config spelling of a key's algorithm, as the store's rows name it.
std::string algorithmOf(EVP_PKEY* key) {
  std::string d = ca::describePublicKey(key);
  if (d == "EC P-256") return ca::keyAlgorithmName(ca::KeyAlgorithm::kEcP256);
  if (d == "EC P-384") return ca::keyAlgorithmName(ca::KeyAlgorithm::kEcP384);
  if (d == "Ed25519") return ca::keyAlgorithmName(ca::KeyAlgorithm::kEd25519);
  if (d == "RSA-3072") return ca::keyAlgorithmName(ca::KeyAlgorithm::kRsa3072);
  return d;
}

// Keys are stored as PKCS#8 PEM whatever form the file had: the store's CA row is split on
// "-----END PRIVATE KEY-----".
core::StatusOr<std::string> keyPem(const std::string& file, std::string* algorithm = nullptr) {
  auto key = ca::PrivateKey::fromPemFile(file);
  if (!key.ok()) return fromCa(file, key.error());
  if (algorithm) *algorithm = algorithmOf(key->get());
  return key->exportPemForHolder();
}

std::vector<std::string> derOfAll(const std::string& pem) {
  std::vector<std::string> out;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bio) {
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!c) break;
    unsigned char* der = nullptr;
    int n = i2d_X509(c, &der);
    if (n > 0) out.emplace_back(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    X509_free(c);
  }
  return out;
}

}  // namespace

core::StatusOr<std::optional<NewKey>> readCaFolder(const std::string& dir) {
  const std::string root_crt = dir + "/root.crt", root_key = dir + "/root.key";
  const std::string int_crt = dir + "/intermediate.crt", int_key = dir + "/intermediate.key";
  std::string present, missing;
  for (const std::string& f : {root_crt, int_crt, int_key})
    (fs::exists(f) ? present : missing) += " " + fs::path(f).filename().string();
  bool root_key_online = fs::exists(root_key);
  if (root_key_online) present += " root.key";
  if (present.empty()) return std::optional<NewKey>();
  // Importing part of a CA would leave the store without the CA every client trusts, and the
  // next start would make a new one; bootstrap refuses such a folder for the same reason.
  if (!missing.empty())
    return core::invalidArgument("CA folder " + dir + " holds" + present + " but lacks" +
                                 missing + "; refusing to import part of a CA or make a new one "
                                 "over it (restore the missing files)");
  auto inter = ca::readCert(int_crt);
  if (!inter.ok()) return fromCa(int_crt, inter.error());
  auto root = ca::readCert(root_crt);
  if (!root.ok()) return fromCa(root_crt, root.error());
  auto ikey = ca::PrivateKey::fromPemFile(int_key);
  if (!ikey.ok()) return fromCa(int_key, ikey.error());
  // Checked before anything is stored: a mismatched pair in the store would stop every replica.
  if (X509_check_private_key(inter->get(), ikey->get()) != 1)
    return core::invalidArgument(int_key + " does not match " + int_crt);
  NewKey k;
  k.key_id = "ca-1";
  k.algorithm = algorithmOf(ikey->get());
  k.public_data = ca::certPem(inter->get()) + ca::certPem(root->get());
  k.secret = ikey->exportPemForHolder();
  if (root_key_online) {
    auto rk = keyPem(root_key);
    if (!rk.ok()) return rk.status();
    k.secret += *rk;
    OPENSSL_cleanse(rk->data(), rk->size());
  }
  return std::optional<NewKey>(std::move(k));
}

core::StatusOr<std::optional<NewKey>> readSshCaKey(const std::string& file) {
  if (!fs::exists(file)) return std::optional<NewKey>();
  NewKey k;
  auto pem = keyPem(file, &k.algorithm);
  if (!pem.ok()) return pem.status();
  k.secret = std::move(*pem);
  auto key = ca::PrivateKey::fromPem(k.secret);
  if (!key.ok()) return fromCa(file, key.error());
  auto ssh = ca::SshCa::fromKey(std::move(*key));
  if (!ssh.ok()) return fromCa(file, ssh.error());
  k.key_id = "ssh_ca-1";
  k.public_data = ssh->publicKeyLine();
  return std::optional<NewKey>(std::move(k));
}

core::StatusOr<NewKey> tokenKeyFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  jose::PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || !jose::keyFitsAlg(key.get(), jose::Alg::kES256))
    return core::invalidArgument("not an EC P-256 private key");
  NewKey k;
  k.secret = pem;
  boost::json::object jwk = jose::ecPublicJwk(key.get());
  k.key_id = jose::ecThumbprint(jwk);
  jwk["kid"] = k.key_id;
  k.algorithm = "ES256";
  k.public_data = boost::json::serialize(jwk);
  return k;
}

core::StatusOr<std::vector<NewKey>> readTokenKeyFolder(const std::string& dir) {
  std::vector<std::pair<int64_t, fs::path>> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::vector<NewKey>();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".pem") continue;
    const std::string stem = e.path().stem().string();
    // The signer skips other names too: they are not its keys.
    if (stem.empty() || !std::all_of(stem.begin(), stem.end(), ::isdigit) || stem.size() > 18)
      continue;
    files.emplace_back(std::stoll(stem), e.path());
  }
  if (ec) return core::unavailable("cannot read " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<NewKey> out;
  for (const auto& [created_ms, path] : files) {
    auto pem = core::readFile(path.string());
    if (!pem.ok()) return pem.status();
    auto k = tokenKeyFromPem(*pem);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!k.ok()) return core::invalidArgument("token-signing key " + path.string() + ": " +
                                              k.status().message());
    k->created_at = k->active_from =
        core::TimePoint(std::chrono::milliseconds(created_ms));
    out.push_back(std::move(*k));
  }
  return out;
}

bool sameCertificates(const std::string& a, const std::string& b) {
  auto da = derOfAll(a), db = derOfAll(b);
  return !da.empty() && da == db;
}

}  // namespace jitb::keystore
