#include "ca/ssh_ca.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "ca/ossl.h"
#include "ca/ssh_wire.h"

namespace jitb::ca {

namespace {

constexpr uint32_t kUserCert = 1;

std::string bnBytes(const BIGNUM* bn) {
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

uint64_t unixSeconds(std::chrono::system_clock::time_point t) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return s < 0 ? 0 : static_cast<uint64_t>(s);
}

// Each option's value is itself a string inside the data string (PROTOCOL.certkeys); writing
// the bare value, as several libraries once did, makes sshd reject the certificate.
std::string encodeOptions(std::vector<std::pair<std::string, std::string>> opts) {
  std::sort(opts.begin(), opts.end());
  sshwire::Writer w;
  for (const auto& [name, value] : opts) {
    w.string(name);
    if (value.empty()) {
      w.string("");
    } else {
      sshwire::Writer inner;
      inner.string(value);
      w.string(inner.bytes());
    }
  }
  return w.take();
}

}  // namespace

Result<SshCa> SshCa::fromKey(PrivateKey key) {
  sshwire::Writer w;
  std::string type;
  EVP_PKEY* k = key.get();
  if (EVP_PKEY_is_a(k, "ED25519")) {
    type = "ssh-ed25519";
    std::string raw(32, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(k, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
        len != 32)
      return internal("SSH CA: cannot read the Ed25519 public key");
    w.string(type);
    w.string(raw);
  } else if (EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) >= 3072) {
    type = "ssh-rsa";
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      BN_free(n);
      BN_free(e);
      return internal("SSH CA: cannot read the RSA public key");
    }
    BnPtr nn(n), ee(e);
    w.string(type);
    w.mpint(bnBytes(ee.get()));
    w.mpint(bnBytes(nn.get()));
  } else {
    return invalid("SSH CA: the key must be Ed25519 or RSA of 3072 bits or more");
  }
  std::shared_ptr<EVP_MD_CTX> tmpl(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  const bool rsa = type == "ssh-rsa";
  if (!tmpl ||
      EVP_DigestSignInit_ex(tmpl.get(), &pctx, rsa ? "SHA512" : nullptr, nullptr, nullptr, k,
                            nullptr) != 1 ||
      (rsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1))
    return internal("SSH CA: cannot prepare the signing context");
  return SshCa(std::move(key), w.take(), std::move(type), std::move(tmpl));
}

Result<SshCa> SshCa::loadOrCreate(const std::string& key_file, KeyAlgorithm algorithm) {
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0) {
    auto key = PrivateKey::fromPemFile(key_file);
    if (!key.ok()) return key.error();
    return fromKey(std::move(*key));
  }
  if (algorithm != KeyAlgorithm::kEd25519 && algorithm != KeyAlgorithm::kRsa3072)
    return invalid("SSH CA: the algorithm must be ed25519 or rsa3072");
  auto key = PrivateKey::generate(algorithm);
  if (!key.ok()) return key.error();
  if (auto w = key->writePemFile(key_file); !w.ok()) return w.error();
  return fromKey(std::move(*key));
}

std::string SshCa::publicKeyLine() const {
  return type_ + " " + sshBase64(public_blob_) + " jitbroker-ssh-ca";
}

Result<std::string> SshCa::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const bool rsa = type_ == "ssh-rsa";
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), sign_template_.get()) != 1)
    return internal("SSH CA: cannot sign");
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1)
    return internal("SSH CA: cannot sign");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1)
    return internal("SSH CA: cannot sign");
  sig.resize(len);
  sshwire::Writer w;
  w.string(rsa ? "rsa-sha2-512" : "ssh-ed25519");
  w.string(sig);
  return w.take();
}

Result<SshCertificate> SshCa::signUser(const SshUserCertRequest& req,
                                       std::chrono::system_clock::time_point now,
                                       std::chrono::seconds backdate) const {
  if (req.principals.empty())
    return invalid("SSH certificate: no principals (an empty list would admit any user)");
  for (const auto& p : req.principals)
    if (p.empty() || p.find(',') != std::string::npos)
      return invalid("SSH certificate: a principal is empty or holds a comma");
  std::set<std::string> names;
  for (const auto& [n, v] : req.critical_options)
    if (!names.insert(n).second) return invalid("SSH certificate: critical option '" + n + "' twice");
  std::vector<std::string> exts = req.extensions;
  std::sort(exts.begin(), exts.end());
  if (std::adjacent_find(exts.begin(), exts.end()) != exts.end())
    return invalid("SSH certificate: an extension is listed twice");
  SshCertificate cert;
  cert.valid_after = std::chrono::floor<std::chrono::seconds>(now - backdate);
  cert.valid_before = std::chrono::floor<std::chrono::seconds>(req.valid_before);
  if (cert.valid_before <= now) return invalid("SSH certificate: it would be valid for no time");

  std::string nonce(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 32) != 1)
    return internal("SSH CA: no randomness");
  sshwire::Writer w;
  w.string(req.key.certType());
  w.string(nonce);
  w.raw(req.key.fields());
  w.u64(req.serial);
  w.u32(kUserCert);
  w.string(req.key_id);
  sshwire::Writer principals;
  for (const auto& p : req.principals) principals.string(p);
  w.string(principals.bytes());
  w.u64(unixSeconds(cert.valid_after));
  w.u64(unixSeconds(cert.valid_before));
  w.string(encodeOptions(req.critical_options));
  std::vector<std::pair<std::string, std::string>> flags;
  for (const auto& e : exts) flags.emplace_back(e, "");
  w.string(encodeOptions(std::move(flags)));
  w.string("");  // reserved
  w.string(public_blob_);
  auto sig = sign(w.bytes());
  if (!sig.ok()) return sig.error();
  w.string(*sig);
  cert.blob = w.take();
  cert.line = req.key.certType() + " " + sshBase64(cert.blob) + " " + req.key_id;
  return cert;
}

}  // namespace jitb::ca
