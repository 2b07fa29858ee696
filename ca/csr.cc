#include "ca/csr.h"

#include <openssl/pem.h>

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

}  // namespace

Result<Csr> Csr::parse(std::string_view in) {
  ReqPtr req;
  if (in.find("-----BEGIN") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(in.data(), static_cast<int>(in.size())));
    req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(in.data());
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(in.size())));
    if (req && p != reinterpret_cast<const unsigned char*>(in.data()) + in.size()) req.reset();
  }
  if (!req) return invalid("csr: not a PEM or DER certificate signing request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (!key) return invalid("csr: no public key");
  if (!publicKeyAllowed(key))
    return invalid("csr: key type " + describePublicKey(key) +
                   " is not allowed (P-256, P-384, Ed25519 or RSA >= 2048)");
  if (X509_REQ_verify(req.get(), key) != 1)
    return invalid("csr: its signature does not verify (no proof of possession)");

  Csr csr(std::move(req));
  unsigned char* spki = nullptr;
  int spki_len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(csr.req_.get()), &spki);
  if (spki_len <= 0) return invalid("csr: unreadable public key");
  csr.spki_der_.assign(reinterpret_cast<char*>(spki), static_cast<size_t>(spki_len));
  OPENSSL_free(spki);
  X509_NAME* subject = X509_REQ_get_subject_name(csr.req_.get());
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, i);
    if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_commonName)
      csr.cn_ = asn1Text(X509_NAME_ENTRY_get_data(e));
  }
  ExtStackPtr exts(X509_REQ_get_extensions(csr.req_.get()));
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_key_usage || nid == NID_ext_key_usage) continue;  // the profile decides
    if (nid == NID_basic_constraints) {
      BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(X509V3_EXT_d2i(ext)));
      if (!bc || bc->ca) return invalid("csr: requests a CA certificate (basicConstraints CA:TRUE)");
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
        case GEN_DNS: csr.dns_.push_back(asn1Text(gn->d.dNSName)); break;
        case GEN_URI: csr.uris_.push_back(asn1Text(gn->d.uniformResourceIdentifier)); break;
        case GEN_IPADD: csr.ips_.push_back(ipText(gn->d.iPAddress)); break;
        case GEN_EMAIL:
          return invalid("csr: email name " + asn1Text(gn->d.rfc822Name) + " is not allowed");
        default: return invalid("csr: a subjectAltName of an unsupported type is not allowed");
      }
    }
  }
  return csr;
}

}  // namespace jitb::ca
