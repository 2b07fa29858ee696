#include "ca/authority.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <optional>
#include <ostream>

#include "ca/ca_cert.h"
#include "ca/der.h"
#include "ca/names.h"

namespace jitb::ca {

namespace fs = std::filesystem;

struct CertificateAuthority::State {
  State(CaConfig c, PrivateKey k, X509Ptr issuing, X509Ptr root_cert)
      : cfg(std::move(c)), key(std::move(k)), cert(std::move(issuing)), root(std::move(root_cert)) {}
  CaConfig cfg;
  PrivateKey key;  // the issuing intermediate's
  X509Ptr cert;    // the issuing intermediate
  X509Ptr root;    // may be null for a brought intermediate without its root
  bool root_key_online = false;  // root.key is in the CA folder (never loaded after a first start)
  std::vector<std::string> chain_pem;
  std::string root_pem;
  // Constant for every leaf: built once so that issuing does no config-string parsing.
  ExtPtr akid, cdp, aia;
  OcspCertIdPtr id_sha1, id_sha256;  // this issuer, for matching OCSP requests
  // The leaf fast path: DER pieces prepared once, and a signing context that each
  // certificate copies instead of fetching algorithms again (docs/benchmarks.md).
  std::string issuer_der, sig_alg_der;
  std::string ext_bc, ext_ku, ext_ku_rsa, ext_eku_client, ext_eku_server, ext_eku_both, ext_akid,
      ext_cdp, ext_aia;
  EVP_MD* sha1 = nullptr;
  std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>> sign_template{nullptr};
  ~State() { EVP_MD_free(sha1); }
};

namespace {

time_t toTimeT(TimePoint t) { return std::chrono::system_clock::to_time_t(t); }

std::string serialHexOf(const ASN1_INTEGER* serial) {
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  char* hex = BN_bn2hex(bn.get());
  std::string s = hex ? hex : "";
  OPENSSL_free(hex);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t nz = s.find_first_not_of('0');
  return nz == std::string::npos ? "0" : s.substr(nz);
}

AsnIntPtr serialFromHex(const std::string& hex) {
  BIGNUM* bn = nullptr;
  if (hex.empty() || hex.size() > 40 || BN_hex2bn(&bn, hex.c_str()) != static_cast<int>(hex.size()))
    return AsnIntPtr(nullptr);
  BnPtr owned(bn);
  return AsnIntPtr(BN_to_ASN1_INTEGER(bn, nullptr));
}

ExtPtr confExt(X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, nullptr, nullptr, nullptr, 0);
  return ExtPtr(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
}

bool addGeneralName(GENERAL_NAMES* names, int type, const std::string& value) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  if (!gn) return false;
  if (type == GEN_IPADD) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(value.c_str());
    if (!ip) {
      GENERAL_NAME_free(gn);
      return false;
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
  } else {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
    GENERAL_NAME_set0_value(gn, type, s);
  }
  sk_GENERAL_NAME_push(names, gn);
  return true;
}

std::string extDer(X509_EXTENSION* e) {
  unsigned char* der = nullptr;
  int len = i2d_X509_EXTENSION(e, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len > 0 ? len : 0));
  OPENSSL_free(der);
  return out;
}

std::string extDer(int nid, int crit, void* value) {
  ExtPtr e(X509V3_EXT_i2d(nid, crit, value));
  return e ? extDer(e.get()) : std::string();
}

std::string ekuDer(bool client, bool server) {
  EkuPtr eku(sk_ASN1_OBJECT_new_null());
  if (client) sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_client_auth));
  if (server) sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_server_auth));
  return extDer(NID_ext_key_usage, 0, eku.get());
}

std::string kuDer(bool key_encipherment) {
  AsnBitsPtr ku(ASN1_BIT_STRING_new());
  ASN1_BIT_STRING_set_bit(ku.get(), 0, 1);  // digitalSignature
  if (key_encipherment) ASN1_BIT_STRING_set_bit(ku.get(), 2, 1);
  return extDer(NID_key_usage, 1, ku.get());
}

Result<bool> prepareFastPath(CertificateAuthority::State& s) {
  unsigned char* der = nullptr;
  int len = i2d_X509_NAME(X509_get_subject_name(s.cert.get()), &der);
  if (len <= 0) return internal("cannot encode the issuer name");
  s.issuer_der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  // The signature AlgorithmIdentifier exactly as OpenSSL writes it for this key.
  X509Ptr probe(X509_new());
  X509_set_pubkey(probe.get(), s.key.get());
  if (X509_sign(probe.get(), s.key.get(), s.key.signingDigest()) <= 0)
    return internal("cannot sign with the CA key");
  const X509_ALGOR* alg = nullptr;
  X509_get0_signature(nullptr, &alg, probe.get());
  der = nullptr;
  len = i2d_X509_ALGOR(alg, &der);
  s.sig_alg_der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len > 0 ? len : 0));
  OPENSSL_free(der);
  BasicConstraintsPtr bc(BASIC_CONSTRAINTS_new());
  bc->ca = 0;
  s.ext_bc = extDer(NID_basic_constraints, 1, bc.get());
  s.ext_ku = kuDer(false);
  s.ext_ku_rsa = kuDer(true);
  s.ext_eku_client = ekuDer(true, false);
  s.ext_eku_server = ekuDer(false, true);
  s.ext_eku_both = ekuDer(true, true);
  s.ext_akid = extDer(s.akid.get());
  if (s.cdp) s.ext_cdp = extDer(s.cdp.get());
  if (s.aia) s.ext_aia = extDer(s.aia.get());
  s.sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  s.sign_template.reset(EVP_MD_CTX_new());
  const EVP_MD* md = s.key.signingDigest();
  if (!s.sha1 || !s.sign_template || s.sig_alg_der.empty() || s.ext_bc.empty() ||
      EVP_DigestSignInit_ex(s.sign_template.get(), nullptr, md ? EVP_MD_get0_name(md) : nullptr,
                            nullptr, nullptr, s.key.get(), nullptr) != 1)
    return internal("cannot prepare the CA's signing context");
  return true;
}

}  // namespace

CertificateAuthority::CertificateAuthority(std::unique_ptr<State> s) : s_(std::move(s)) {}
CertificateAuthority::~CertificateAuthority() = default;

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::bootstrap(const CaConfig& cfg,
                                                                             TimePoint now) {
  std::error_code ec;
  fs::create_directories(cfg.dir, ec);
  if (ec) return internal("cannot create CA folder " + cfg.dir);
  ::chmod(cfg.dir.c_str(), 0700);
  std::string root_crt = cfg.dir + "/root.crt", root_key = cfg.dir + "/root.key";
  std::string int_crt = cfg.dir + "/intermediate.crt", int_key = cfg.dir + "/intermediate.key";
  X509Ptr root, cert;
  std::optional<PrivateKey> key;

  if (!cfg.intermediate_cert_file.empty()) {  // bring your own issuing CA
    auto c = readCert(cfg.intermediate_cert_file);
    if (!c.ok()) return c.error();
    auto k = PrivateKey::fromPemFile(cfg.intermediate_key_file);
    if (!k.ok()) return k.error();
    cert = std::move(*c);
    key.emplace(std::move(*k));
    if (!cfg.root_cert_file.empty()) {
      auto r = readCert(cfg.root_cert_file);
      if (!r.ok()) return r.error();
      root = std::move(*r);
    }
  } else if (fs::exists(int_crt) && fs::exists(int_key) && fs::exists(root_crt)) {
    // A later start. The root key is not needed (and may be offline: `jitbroker ca offline-root`).
    auto c = readCert(int_crt);
    if (!c.ok()) return c.error();
    auto k = PrivateKey::fromPemFile(int_key);
    if (!k.ok()) return k.error();
    auto r = readCert(root_crt);
    if (!r.ok()) return r.error();
    cert = std::move(*c);
    key.emplace(std::move(*k));
    root = std::move(*r);
  } else {  // first start
    // Part of a CA is not a first start: making a new root here would silently replace the
    // trust anchor every client holds. Say what is missing instead.
    std::string present, missing;
    for (const std::string& f : {root_crt, root_key, int_crt, int_key})
      (fs::exists(f) ? present : missing) += " " + fs::path(f).filename().string();
    if (!present.empty())
      return invalid("CA folder " + cfg.dir + " holds" + present + " but lacks" + missing +
                     "; refusing to create a new root over it (restore the missing files)");
    auto rk = PrivateKey::generate(cfg.algorithm);
    auto ik = PrivateKey::generate(cfg.algorithm);
    if (!rk.ok() || !ik.ok()) return internal("CA key generation failed");
    auto r = makeCaCert(cfg.name + " root CA", *rk, nullptr, *rk, now, 3650, -1);
    if (!r.ok()) return r.error();
    auto c = makeCaCert(cfg.name + " issuing CA", *ik, r->get(), *rk, now, 1825, 0);
    if (!c.ok()) return c.error();
    // Keys first: a crash between writes leaves no certificate without its key.
    if (!rk->writePemFile(root_key).ok() || !ik->writePemFile(int_key).ok() ||
        !writeCert(root_crt, r->get()) || !writeCert(int_crt, c->get()))
      return internal("cannot write the CA files in " + cfg.dir);
    root = std::move(*r);
    cert = std::move(*c);
    key.emplace(std::move(*ik));
  }
  return assemble(cfg, std::move(*key), std::move(cert), std::move(root),
                  cfg.intermediate_cert_file.empty() && fs::exists(root_key));
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::fromMaterial(
    const CaConfig& cfg, const CaMaterial& m) {
  auto cert = certFromPem(m.intermediate_cert_pem);
  auto root = certFromPem(m.root_cert_pem);
  auto key = PrivateKey::fromPem(m.intermediate_key_pem);
  if (!cert.ok() || !root.ok() || !key.ok()) return invalid("the stored CA does not parse");
  return assemble(cfg, std::move(*key), std::move(*cert), std::move(*root),
                  !m.root_key_pem.empty());
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::assemble(
    const CaConfig& cfg, PrivateKey key, X509Ptr cert, X509Ptr root, bool root_key_online) {
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    return invalid("the issuing CA's key does not match its certificate");

  auto s = std::make_unique<State>(cfg, std::move(key), std::move(cert), std::move(root));
  s->root_key_online = root_key_online;
  s->chain_pem.push_back(certPem(s->cert.get()));
  if (s->root) {
    s->root_pem = certPem(s->root.get());
    s->chain_pem.push_back(s->root_pem);
  }
  s->akid = confExt(s->cert.get(), NID_authority_key_identifier, "keyid:always");
  if (!cfg.public_url.empty()) {
    s->cdp = confExt(s->cert.get(), NID_crl_distribution_points, "URI:" + cfg.public_url + "/v1/ca/crl");
    s->aia = confExt(s->cert.get(), NID_info_access, "OCSP;URI:" + cfg.public_url + "/v1/ocsp");
  }
  AsnIntPtr zero(ASN1_INTEGER_new());
  s->id_sha1.reset(OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(s->cert.get()),
                                    X509_get0_pubkey_bitstr(s->cert.get()), zero.get()));
  s->id_sha256.reset(OCSP_cert_id_new(EVP_sha256(), X509_get_subject_name(s->cert.get()),
                                      X509_get0_pubkey_bitstr(s->cert.get()), zero.get()));
  if (!s->akid || !s->id_sha1 || !s->id_sha256 || (!cfg.public_url.empty() && (!s->cdp || !s->aia)))
    return internal("cannot prepare the CA's extensions");
  if (Result<bool> fp = prepareFastPath(*s); !fp.ok()) return fp.error();
  return std::unique_ptr<CertificateAuthority>(new CertificateAuthority(std::move(s)));
}

const std::vector<std::string>& CertificateAuthority::chainPem() const { return s_->chain_pem; }
const std::string& CertificateAuthority::rootPem() const { return s_->root_pem; }
bool CertificateAuthority::rootKeyOnline() const { return s_->root_key_online; }

std::string CertificateAuthority::describe() const {
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(s_->cert.get()), NID_commonName, cn, sizeof cn);
  return "CertificateAuthority(" + describePublicKey(s_->key.get()) + ", CN=" + cn + ")";
}

std::ostream& operator<<(std::ostream& os, const CertificateAuthority& ca) {
  return os << ca.describe();
}

namespace {

// The subjectPublicKey bits of a DER SubjectPublicKeyInfo (for the key identifier).
std::string_view spkiKeyBits(std::string_view spki) {
  auto skipHeader = [](std::string_view& d, size_t& content_len) -> bool {
    if (d.size() < 2) return false;
    size_t n = static_cast<unsigned char>(d[1]), hdr = 2;
    if (n & 0x80) {
      size_t k = n & 0x7f;
      if (k == 0 || k > 3 || d.size() < 2 + k) return false;
      n = 0;
      for (size_t i = 0; i < k; ++i) n = (n << 8) | static_cast<unsigned char>(d[2 + i]);
      hdr += k;
    }
    if (d.size() < hdr + n) return false;
    content_len = n;
    d.remove_prefix(hdr);
    return true;
  };
  size_t n = 0;
  if (!skipHeader(spki, n)) return {};  // the outer SEQUENCE
  std::string_view alg = spki;
  if (!skipHeader(alg, n)) return {};  // AlgorithmIdentifier: skip it whole
  std::string_view bits = alg.substr(n);
  if (bits.empty() || bits[0] != 0x03 || !skipHeader(bits, n) || n < 1) return {};
  return bits.substr(1, n - 1);  // past the unused-bits octet
}

std::string pemOf(std::string_view der, const char* label) {
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                          reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(der.size()));
  b64.resize(static_cast<size_t>(n));
  std::string out = std::string("-----BEGIN ") + label + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END " + label + "-----\n";
}

// Builds and signs the leaf as DER. The constant parts were prepared at bootstrap; what
// varies is the serial, the validity, the subject, the key and its identifier, and the SANs.
Result<IssuedCertificate> buildLeaf(const CertificateAuthority::State& s, std::string_view spki,
                                    bool rsa_key, const IssuanceProfile& p, TimePoint now) {
  if (Result<bool> v = validateProfile(p); !v.ok()) return v.error();
  if (p.not_after <= now) return invalid("the certificate would already have expired");
  time_t not_after = toTimeT(p.not_after), not_before = toTimeT(now - s.cfg.backdate);
  if (X509_cmp_time(X509_get0_notAfter(s.cert.get()), &not_after) < 0)
    return invalid("the certificate would outlive the issuing CA");
  std::string_view key_bits = spkiKeyBits(spki);
  if (key_bits.empty()) return invalid("unreadable public key");

  // 0x01 (positive, and no leading zero octet to strip), 6 octets of milliseconds, then 72
  // random bits (the CA/Browser Forum asks for 64): serials that sort by time keep the store's
  // serial index growing at one end instead of dirtying a random page per certificate.
  unsigned char serial[16] = {0x01};
  uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  for (int i = 6; i >= 1; --i, ms >>= 8) serial[i] = static_cast<unsigned char>(ms & 0xff);
  if (RAND_bytes(serial + 7, sizeof serial - 7) != 1) return internal("no randomness for the serial");
  std::string serial_raw(reinterpret_cast<char*>(serial), sizeof serial);

  std::string subject;
  if (!p.common_name.empty())
    subject = der::tlv(0x31, der::seq(der::tlv(0x06, std::string("\x55\x04\x03", 3)) +
                                      der::tlv(0x0c, p.common_name)));
  unsigned char ski[EVP_MAX_MD_SIZE];
  unsigned int ski_len = 0;
  EVP_Digest(key_bits.data(), key_bits.size(), ski, &ski_len, s.sha1, nullptr);

  std::string exts = s.ext_bc + (rsa_key ? s.ext_ku_rsa : s.ext_ku) +
                     (p.kind == ProfileKind::kClient   ? s.ext_eku_client
                      : p.kind == ProfileKind::kServer ? s.ext_eku_server
                                                       : s.ext_eku_both) +
                     der::seq(der::tlv(0x06, std::string("\x55\x1d\x0e", 3)) +
                              der::tlv(0x04, der::tlv(0x04, std::string_view(reinterpret_cast<char*>(ski), ski_len)))) +
                     s.ext_akid;
  if (!p.dns_sans.empty() || !p.uri_sans.empty() || !p.ip_sans.empty()) {
    GenNamesPtr sans(sk_GENERAL_NAME_new_null());
    for (const auto& d : p.dns_sans) addGeneralName(sans.get(), GEN_DNS, d);
    for (const auto& u : p.uri_sans) addGeneralName(sans.get(), GEN_URI, u);
    for (const auto& ip : p.ip_sans)
      if (!addGeneralName(sans.get(), GEN_IPADD, ip)) return invalid("'" + ip + "' is not an IP address");
    // RFC 5280 §4.2.1.6: with an empty subject the SAN extension is critical.
    exts += extDer(NID_subject_alt_name, p.common_name.empty() ? 1 : 0, sans.get());
  }
  exts += s.ext_cdp + s.ext_aia;

  std::string tbs = der::seq(der::tlv(0xa0, std::string("\x02\x01\x02", 3)) +  // v3
                             der::tlv(0x02, serial_raw) + s.sig_alg_der + s.issuer_der +
                             der::seq(der::time(not_before) + der::time(not_after)) +
                             der::seq(subject) + std::string(spki) +
                             der::tlv(0xa3, der::seq(exts)));
  std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), s.sign_template.get()) != 1)
    return internal("cannot prepare a signature");
  size_t sig_len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(tbs.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &sig_len, in, tbs.size()) != 1)
    return internal("cannot sign the certificate");
  std::string sig(sig_len + 1, '\0');  // leading octet: no unused bits
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()) + 1, &sig_len, in,
                     tbs.size()) != 1)
    return internal("cannot sign the certificate");
  sig.resize(sig_len + 1);

  IssuedCertificate out;
  out.der = der::seq(tbs + s.sig_alg_der + der::tlv(0x03, sig));
  out.pem = pemOf(out.der, "CERTIFICATE");
  static const char* kHex = "0123456789abcdef";
  for (unsigned char b : serial_raw) {
    out.serial_hex += kHex[b >> 4];
    out.serial_hex += kHex[b & 15];
  }
  if (out.serial_hex[0] == '0') out.serial_hex.erase(0, 1);  // canonical: no leading zero
  out.not_before = std::chrono::system_clock::from_time_t(not_before);
  out.not_after = std::chrono::system_clock::from_time_t(not_after);
  return out;
}

}  // namespace

Result<IssuedCertificate> CertificateAuthority::issue(const Csr& csr, const IssuanceProfile& p,
                                                      TimePoint now) const {
  if (Result<bool> v = csrWithinProfile(csr, p); !v.ok()) return v.error();
  return buildLeaf(*s_, csr.spkiDer(), csr.rsaKey(), p, now);
}

Result<ServerKeyCertificate> CertificateAuthority::issueWithServerKey(const IssuanceProfile& p,
                                                                      KeyAlgorithm a,
                                                                      TimePoint now) const {
  auto key = PrivateKey::generate(a);
  if (!key.ok()) return key.error();
  unsigned char* spki = nullptr;
  int len = i2d_PUBKEY(key->get(), &spki);
  if (len <= 0) return internal("cannot encode the new key");
  std::string spki_der(reinterpret_cast<char*>(spki), static_cast<size_t>(len));
  OPENSSL_free(spki);
  auto c = buildLeaf(*s_, spki_der, a == KeyAlgorithm::kRsa3072, p, now);
  if (!c.ok()) return c.error();
  return ServerKeyCertificate{std::move(*c), key->exportPemForHolder()};
}

Result<std::string> CertificateAuthority::buildCrlDer(const std::vector<RevokedEntry>& entries,
                                                      int64_t crl_number, TimePoint now,
                                                      std::chrono::seconds next_update) const {
  CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);  // v2
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(s_->cert.get()));
  AsnTimePtr last(ASN1_TIME_set(nullptr, toTimeT(now)));
  AsnTimePtr next(ASN1_TIME_set(nullptr, toTimeT(now + next_update)));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (const auto& e : entries) {
    AsnIntPtr serial = serialFromHex(e.serial_hex);
    if (!serial) return invalid("CRL entry serial '" + e.serial_hex + "' is not hex");
    RevokedPtr rev(X509_REVOKED_new());
    AsnTimePtr when(ASN1_TIME_set(nullptr, toTimeT(e.revoked_at)));
    X509_REVOKED_set_serialNumber(rev.get(), serial.get());
    X509_REVOKED_set_revocationDate(rev.get(), when.get());
    if (e.reason != RevocationReason::kUnspecified) {
      AsnEnumPtr reason(ASN1_ENUMERATED_new());
      ASN1_ENUMERATED_set(reason.get(), static_cast<long>(e.reason));
      X509_REVOKED_add1_ext_i2d(rev.get(), NID_crl_reason, reason.get(), 0, 0);
    }
    X509_CRL_add0_revoked(crl.get(), rev.release());
  }
  AsnIntPtr number(ASN1_INTEGER_new());
  ASN1_INTEGER_set_int64(number.get(), crl_number);
  X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0);
  X509_EXTENSION* akid = s_->akid.get();
  X509_CRL_add_ext(crl.get(), akid, -1);
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), s_->key.get(), s_->key.signingDigest()) <= 0)
    return internal("cannot sign the CRL");
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl.get(), &der);
  if (len <= 0) return internal("cannot encode the CRL");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

OcspAnswer CertificateAuthority::respondOcsp(
    std::string_view request_der,
    const std::function<CertStatus(const std::string& serial_hex)>& lookup, TimePoint now,
    std::chrono::seconds next_update) const {
  auto encode = [](OCSP_RESPONSE* r, bool malformed) {
    unsigned char* der = nullptr;
    int len = i2d_OCSP_RESPONSE(r, &der);
    OcspAnswer a{malformed, std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len > 0 ? len : 0))};
    OPENSSL_free(der);
    return a;
  };
  auto status_only = [&](int status) {
    OcspRespPtr r(OCSP_response_create(status, nullptr));
    return encode(r.get(), status == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  };
  const unsigned char* p = reinterpret_cast<const unsigned char*>(request_der.data());
  OcspReqPtr req(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(request_der.size())));
  int count = req ? OCSP_request_onereq_count(req.get()) : 0;
  if (!req || count <= 0 || count > 100)
    return status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);

  OcspBasicPtr basic(OCSP_BASICRESP_new());
  AsnTimePtr this_upd(ASN1_TIME_set(nullptr, toTimeT(now)));
  AsnTimePtr next_upd(ASN1_TIME_set(nullptr, toTimeT(now + next_update)));
  for (int i = 0; i < count; ++i) {
    OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), i));
    ASN1_INTEGER* serial = nullptr;
    ASN1_OBJECT* md_oid = nullptr;
    if (!id || OCSP_id_get0_info(nullptr, &md_oid, nullptr, &serial, id) != 1 || !serial)
      return status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    bool ours = OCSP_id_issuer_cmp(s_->id_sha1.get(), id) == 0 ||
                OCSP_id_issuer_cmp(s_->id_sha256.get(), id) == 0;
    CertStatus st = ours ? lookup(serialHexOf(serial)) : CertStatus{};
    int status = st.state == CertState::kGood      ? V_OCSP_CERTSTATUS_GOOD
                 : st.state == CertState::kRevoked ? V_OCSP_CERTSTATUS_REVOKED
                                                   : V_OCSP_CERTSTATUS_UNKNOWN;
    AsnTimePtr rev_time(st.state == CertState::kRevoked ? ASN1_TIME_set(nullptr, toTimeT(st.revoked_at))
                                                        : nullptr);
    int reason = st.state == CertState::kRevoked && st.reason != RevocationReason::kUnspecified
                     ? static_cast<int>(st.reason)
                     : -1;
    if (!OCSP_basic_add1_status(basic.get(), id, status, reason, rev_time.get(), this_upd.get(),
                                next_upd.get()))
      return status_only(OCSP_RESPONSE_STATUS_INTERNALERROR);
  }
  OCSP_copy_nonce(basic.get(), req.get());  // echoed only when the request carried one
  // Signed by the issuing CA itself (RFC 6960 §4.2.2.2): no delegated responder to manage.
  if (OCSP_basic_sign(basic.get(), s_->cert.get(), s_->key.get(), s_->key.signingDigest(), nullptr,
                      OCSP_NOCERTS) != 1)
    return status_only(OCSP_RESPONSE_STATUS_INTERNALERROR);
  OcspRespPtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  return encode(resp.get(), false);
}

std::string derToPem(std::string_view der, const char* label) {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio(b.get(), label, "", reinterpret_cast<const unsigned char*>(der.data()),
                static_cast<long>(der.size()));
  return bioString(b.get());
}

Result<PeerIdentity> peerIdentity(std::string_view cert_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(cert_der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(cert_der.size())));
  if (!cert) return invalid("client certificate does not parse");
  PeerIdentity id;
  id.serial_hex = serialHexOf(X509_get0_serialNumber(cert.get()));
  GenNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_URI) continue;
    if (!id.uri.empty()) return invalid("client certificate has more than one URI SAN");
    id.uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier)),
                  static_cast<size_t>(ASN1_STRING_length(gn->d.uniformResourceIdentifier)));
  }
  if (id.uri.empty()) return invalid("client certificate has no URI SAN to name its holder");
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(cert_der.data(), cert_der.size(), md, &len, EVP_sha256(), nullptr);
  std::string b64(48, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), md, static_cast<int>(len));
  b64.resize(static_cast<size_t>(n));
  for (char& c : b64) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  id.sha256_b64url = b64;
  return id;
}

}  // namespace jitb::ca
