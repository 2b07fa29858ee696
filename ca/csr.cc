#include "ca/csr.h"

#include <openssl/pem.h>

#include <optional>

#include "ca/der_reader.h"
#include "ca/key.h"

namespace jitb::ca {

namespace {

std::string asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// "127.0.0.1" / "::1" from the 4 or 16 raw bytes of an iPAddress name.
std::string ipText(const ASN1_OCTET_STRING* o) {
  if (ASN1_STRING_length(o) != 4 && ASN1_STRING_length(o) != 16) return "?";
  // OpenSSL's own formatter, through a one-name GENERAL_NAME print.
  GENERAL_NAME gn;
  gn.type = GEN_IPADD;
  gn.d.ip = const_cast<ASN1_OCTET_STRING*>(o);
  BioPtr b(BIO_new(BIO_s_mem()));
  GENERAL_NAME_print(b.get(), &gn);
  std::string t = bioString(b.get());
  return t.rfind("IP Address:", 0) == 0 ? t.substr(11) : t;
}

// The fields every path reads the same way: the subject's CN and the allowed extensions.
std::optional<Error> readNames(const X509_NAME* subject, const STACK_OF(X509_EXTENSION) * exts,
                               std::string& cn, std::vector<std::string>& dns,
                               std::vector<std::string>& uris, std::vector<std::string>& ips) {
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, i);
    if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_commonName)
      cn = asn1Text(X509_NAME_ENTRY_get_data(e));
  }
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_key_usage || nid == NID_ext_key_usage) continue;  // the profile decides
    if (nid == NID_basic_constraints) {
      BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(X509V3_EXT_d2i(ext)));
      if (!bc || bc->ca)
        return invalid("csr: requests a CA certificate (basicConstraints CA:TRUE)");
      continue;
    }
    if (nid != NID_subject_alt_name) {
      char name[128];
      OBJ_obj2txt(name, sizeof name, X509_EXTENSION_get_object(ext), 0);
      return invalid(std::string("csr: extension ") + name + " is not allowed");
    }
    GenNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
    if (!names) return invalid("csr: malformed subjectAltName");
    for (int j = 0; j < sk_GENERAL_NAME_num(names.get()); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), j);
      switch (gn->type) {
        case GEN_DNS:
          dns.push_back(asn1Text(gn->d.dNSName));
          break;
        case GEN_URI:
          uris.push_back(asn1Text(gn->d.uniformResourceIdentifier));
          break;
        case GEN_IPADD:
          ips.push_back(ipText(gn->d.iPAddress));
          break;
        case GEN_EMAIL:
          return invalid("csr: email name " + asn1Text(gn->d.rfc822Name) + " is not allowed");
        default:
          return invalid("csr: a subjectAltName of an unsupported type is not allowed");
      }
    }
  }
  return std::nullopt;
}

// SubjectPublicKeyInfo of an uncompressed P-256 key up to the point's 64 coordinate bytes:
// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0 unused, 0x04 ... } }.
constexpr std::string_view kP256SpkiHead(
    "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
    "\x03\x42\x00\x04",
    27);
// AlgorithmIdentifier ecdsa-with-SHA256, no parameters (RFC 5758 §3.2).
constexpr std::string_view kEcdsaSha256("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 12);
// The extensionRequest attribute's type, 1.2.840.113549.1.9.14 (RFC 2985).
constexpr std::string_view kExtensionRequest("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e", 11);

// A P-256 key with only its domain parameters, made once: a request's key is a copy of it
// given the request's point (an import by group name costs four times as much).
EVP_PKEY* p256Template() {
  EVP_PKEY* t = nullptr;
  PkeyCtxPtr c(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!c || EVP_PKEY_paramgen_init(c.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(c.get(), "prime256v1") != 1 ||
      EVP_PKEY_paramgen(c.get(), &t) != 1)
    return nullptr;
  return t;
}

// Proof of possession for a P-256 key: SHA-256 over the request info, ECDSA-verified. Setting
// the point checks that it is on the curve.
bool verifyP256(std::string_view point, std::string_view signed_part, std::string_view sig) {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_PKEY* const p256 = p256Template();
  unsigned char digest[32];
  unsigned int dlen = 0;
  if (!sha256 || !p256 ||
      EVP_Digest(signed_part.data(), signed_part.size(), digest, &dlen, sha256, nullptr) != 1)
    return false;
  PkeyPtr key(EVP_PKEY_new());
  if (!key || EVP_PKEY_copy_parameters(key.get(), p256) != 1 ||
      EVP_PKEY_set1_encoded_public_key(
          key.get(), reinterpret_cast<const unsigned char*>(point.data()), point.size()) != 1)
    return false;
  PkeyCtxPtr verify(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  return verify && EVP_PKEY_verify_init(verify.get()) == 1 &&
         EVP_PKEY_verify(verify.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                         sig.size(), digest, dlen) == 1;
}

template <class T, T* (*D2i)(T**, const unsigned char**, long)>
T* decodeWhole(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  T* t = D2i(nullptr, &p, static_cast<long>(der.size()));
  if (t && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
  return t;
}

}  // namespace

// The common case, a P-256 key signed with ECDSA-SHA256, walked directly: OpenSSL 3.0 decodes a
// request's public key through a decoder context built per call, which profiling showed to be
// a fifth of the broker's CPU per certificate. Anything unexpected returns nullopt and the
// generic path decides (and words the error), so this path only ever accepts.
std::optional<Csr> Csr::parseP256(std::string_view der) {
  der::Tlv req, info, alg, sig, version, subject, spki, attrs;
  std::string_view in = der;
  if (!der::read(in, 0x30, req) || !in.empty()) return std::nullopt;
  std::string_view body = req.content;
  if (!der::read(body, 0x30, info) || !der::read(body, 0x30, alg) || !der::read(body, 0x03, sig) ||
      !body.empty() || alg.whole != kEcdsaSha256)
    return std::nullopt;
  std::string_view fields = info.content;
  if (!der::read(fields, 0x02, version) || version.content != std::string_view("\0", 1) ||
      !der::read(fields, 0x30, subject) || !der::read(fields, 0x30, spki) ||
      !der::read(fields, 0xa0, attrs) || !fields.empty())
    return std::nullopt;
  if (spki.whole.size() != kP256SpkiHead.size() + 64 || !spki.whole.starts_with(kP256SpkiHead))
    return std::nullopt;
  std::string_view ext_der;
  for (std::string_view a = attrs.content; !a.empty();) {
    der::Tlv attr, type, values, value;
    if (!der::read(a, 0x30, attr)) return std::nullopt;
    std::string_view parts = attr.content;
    if (!der::read(parts, 0x06, type) || type.whole != kExtensionRequest || !ext_der.empty() ||
        !der::read(parts, 0x31, values) || !parts.empty())
      return std::nullopt;  // other attributes (challengePassword...): the generic path
    std::string_view v = values.content;
    if (!der::read(v, 0x30, value) || !v.empty()) return std::nullopt;
    ext_der = value.whole;
  }
  if (sig.content.empty() || sig.content[0] != 0) return std::nullopt;
  std::string_view point = spki.whole.substr(kP256SpkiHead.size() - 1);  // from the 0x04
  if (!verifyP256(point, info.whole, sig.content.substr(1))) return std::nullopt;

  NamePtr name(decodeWhole<X509_NAME, d2i_X509_NAME>(subject.whole));
  if (!name) return std::nullopt;
  ExtStackPtr exts;
  if (!ext_der.empty()) {
    exts.reset(decodeWhole<STACK_OF(X509_EXTENSION), d2i_X509_EXTENSIONS>(ext_der));
    if (!exts) return std::nullopt;
  }
  Csr csr;
  csr.spki_der_ = std::string(spki.whole);
  if (readNames(name.get(), exts.get(), csr.cn_, csr.dns_, csr.uris_, csr.ips_))
    return std::nullopt;  // refused: let the generic path say why, in its words
  return csr;
}

Result<Csr> Csr::parse(std::string_view in) {
  std::string pem_der;
  std::string_view der = in;
  const bool pem = in.find("-----BEGIN") != std::string_view::npos;
  if (pem) {
    BioPtr bio(BIO_new_mem_buf(in.data(), static_cast<int>(in.size())));
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_bytes_read_bio(&data, &len, nullptr, PEM_STRING_X509_REQ, bio.get(), nullptr,
                           nullptr) != 1)
      return invalid("csr: not a PEM or DER certificate signing request");
    pem_der.assign(reinterpret_cast<char*>(data), static_cast<size_t>(len));
    OPENSSL_free(data);
    der = pem_der;
  }
  if (auto fast = parseP256(der)) return std::move(*fast);

  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  // Bytes after a DER request are refused; after a PEM block's contents they never occur.
  if (req && !pem && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    req.reset();
  if (!req) return invalid("csr: not a PEM or DER certificate signing request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (!key) return invalid("csr: no public key");
  if (!publicKeyAllowed(key))
    return invalid("csr: key type " + describePublicKey(key) +
                   " is not allowed (P-256, P-384, Ed25519 or RSA >= 2048)");
  if (X509_REQ_verify(req.get(), key) != 1)
    return invalid("csr: its signature does not verify (no proof of possession)");

  Csr csr;
  csr.rsa_ = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
  unsigned char* spki = nullptr;
  int spki_len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req.get()), &spki);
  if (spki_len <= 0) return invalid("csr: unreadable public key");
  csr.spki_der_.assign(reinterpret_cast<char*>(spki), static_cast<size_t>(spki_len));
  OPENSSL_free(spki);
  ExtStackPtr exts(X509_REQ_get_extensions(req.get()));
  if (auto err = readNames(X509_REQ_get_subject_name(req.get()), exts.get(), csr.cn_, csr.dns_,
                           csr.uris_, csr.ips_))
    return *err;
  return csr;
}

}  // namespace jitb::ca
