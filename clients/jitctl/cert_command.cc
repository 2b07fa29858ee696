// jitctl cert: a key made here (it never leaves the machine), a CSR, and the certificate,
// key and chain written 0600 through a temp file and a rename.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/json.hpp>
#include <cstdio>

#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "ca/key.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"
#include "clients/jitctl/subject_token.h"

namespace jitb::jitctl {

namespace json = boost::json;

namespace {
constexpr const char* kHelp =
    "usage: jitctl cert --ticket ID --cert-out F --key-out F [--chain-out F] [--grant G]\n"
    "                   [--ttl 1h] [--key-type p256|p384|ed25519] [--json]\n"
    "  Makes a key locally, sends a CSR, and writes the certificate (with the issuing CA),\n"
    "  key and chain with mode 0600. The identity is your subject token, or the client\n"
    "  certificate given with --client-cert/--client-key (renewal over mTLS). The grant's\n"
    "  max_ttl and the ticket's window cap --ttl: when the certificate is shorter than asked,\n"
    "  jitctl says so on stderr (and still exits 0).\n";

std::string makeCsr(const ca::PrivateKey& key) {
  ca::ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_REQ_set_pubkey(req.get(), key.get());
  X509_REQ_sign(req.get(), key.get(), key.signingDigest());
  ca::BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(b.get(), req.get());
  return ca::bioString(b.get());
}
}  // namespace

const std::set<std::string> kCertFlags = {"--ticket", "--cert-out", "--key-out", "--chain-out",
                                          "--grant", "--ttl", "--key-type", "--client-cert",
                                          "--client-key"};

int issueAndWrite(const Context& c, const client::Args& a, const std::string& client_cert,
                  const std::string& client_key, json::object& out) {
  auto alg = ca::keyAlgorithmFromName(a.get("--key-type", "p256"));
  if (!alg.ok()) return usage(alg.error().message, kHelp);
  auto key = ca::PrivateKey::generate(*alg);
  if (!key.ok()) return kFailure;
  json::object body{{"ticket", a.get("--ticket")}, {"csr", makeCsr(*key)}};
  if (a.has("--grant")) body["grant"] = a.get("--grant");
  if (a.has("--ttl")) {
    auto d = core::parseDuration(a.get("--ttl"));
    if (!d || d->count() < 1000) return usage("--ttl must be a duration such as 1h", kHelp);
    body["ttl"] = d->count() / 1000;
  }
  std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
  client::HttpOptions opts;
  opts.ca_file = c.ca_file;
  if (!client_cert.empty()) {
    opts.client_cert_file = client_cert;
    opts.client_key_file = client_key.empty() ? client_cert : client_key;
  } else {
    auto subject = findSubjectToken(a);
    if (!subject.ok()) {
      std::fprintf(stderr, "jitctl: %s\n", subject.status().message().c_str());
      return kUsage;
    }
    headers["Authorization"] = "Bearer " + *subject;
  }
  auto r = client::httpsRequest("POST", c.broker + "/v1/certificates", headers,
                                json::serialize(body), opts);
  if (!r.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", r.status().message().c_str());
    return r.status().code() == core::Code::kInvalidArgument ? kUsage : kUnreachable;
  }
  if (r->status != 201) return reportError(*r);
  out = json::parse(r->body).as_object();
  std::string chain;
  for (const auto& pem : out.at("ca_chain").as_array()) chain += std::string(pem.as_string());
  std::string cert = std::string(out.at("certificate").as_string()) +
                     std::string(out.at("ca_chain").as_array().at(0).as_string());
  // Key first: a reader that sees the new certificate finds its key already in place.
  auto written = key->writePemFile(a.get("--key-out"));
  core::Status st = written.ok() ? core::writeFileAtomic(a.get("--cert-out"), cert, 0600)
                                 : core::unavailable(written.error().message);
  if (st.ok() && a.has("--chain-out")) st = core::writeFileAtomic(a.get("--chain-out"), chain, 0600);
  if (!st.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", st.message().c_str());
    return kFailure;
  }
  out.erase("certificate");
  out.erase("ca_chain");
  return kOk;
}

int cmdCert(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kHelp, kCertFlags, {}, a, code, /*json=*/true, /*short_help=*/false))
    return code;
  if (!a.has("--ticket") || !a.has("--cert-out") || !a.has("--key-out"))
    return usage("--ticket, --cert-out and --key-out are required", kHelp);
  Context c = Context::from(a);
  json::object out;
  if (int rc = issueAndWrite(c, a, a.get("--client-cert"), a.get("--client-key"), out); rc != kOk)
    return rc;
  auto asked = core::parseDuration(a.get("--ttl"));
  if (auto* e = out.if_contains("expires_in");
      asked && e && e->is_int64() && e->as_int64() < asked->count() / 1000)
    warnShorter(asked->count() / 1000, e->as_int64());
  if (c.json) {
    std::printf("%s\n", json::serialize(out).c_str());
  } else {
    std::printf("%s: serial %s, valid until %s (lease %s)\n", a.get("--cert-out").c_str(),
                std::string(out.at("serial").as_string()).c_str(),
                std::string(out.at("not_after").as_string()).c_str(),
                std::string(out.at("lease_id").as_string()).c_str());
  }
  return kOk;
}

}  // namespace jitb::jitctl
