// Finalize through the X.509 issuance (each certificate a lease of the account's ticket,
// judged again by the policy), download as a PEM chain, and revocation by the account that
// obtained the certificate or by the certificate's own key (RFC 8555 §7.4, §7.6).
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <set>

#include "broker/acme/signed.h"
#include "ca/csr.h"

namespace jitb::acme {

namespace json = boost::json;
using detail::bodyOf;
using detail::str;

namespace {

std::vector<std::string> orderNames(const json::object& body) {
  std::vector<std::string> out;
  if (auto* ids = body.if_contains("identifiers"); ids && ids->is_array())
    for (const auto& i : ids->as_array())
      if (i.is_object()) out.push_back(str(i.as_object(), "value"));
  return out;
}

using X509Ptr = std::unique_ptr<X509, decltype([](X509* x) { X509_free(x); })>;

// The DER of the first certificate of a PEM chain ("" when there is none).
std::string firstCertificateDer(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                BIO_free);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  unsigned char* out = nullptr;
  int n = cert ? i2d_X509(cert.get(), &out) : -1;
  if (n <= 0) return {};
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

// Lower-case hex without leading zeros, as leases name serials.
std::optional<std::string> serialOfDer(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())),
                                                  X509_free);
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return std::nullopt;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr),
                                                 BN_free);
  if (!bn) return std::nullopt;
  char* hex = BN_bn2hex(bn.get());
  if (!hex) return std::nullopt;
  std::string s(hex);
  OPENSSL_free(hex);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t nz = s.find_first_not_of('0');
  return nz == std::string::npos ? "0" : s.substr(nz);
}

}  // namespace

void AcmeService::finalize(Signed& s, const std::string& id, std::function<void(Reply)> done,
                           core::Offload offload) {
  auto loaded = loadOrder(s.account->id, id);
  if (auto* p = std::get_if<Problem>(&loaded)) return done(problemReply(*p));
  store::AcmeRow order = std::get<store::AcmeRow>(std::move(loaded));
  if (order.status != "ready")
    return done(problemReply({403, "orderNotReady", "the order is " + order.status + ", not ready"}));
  auto der = core::base64urlDecode(str(s.payload, "csr"));
  if (!der || der->empty()) return done(problemReply({400, "badCSR", "csr must be a base64url DER CSR"}));
  auto csr = ca::Csr::parse(*der);
  if (!csr.ok()) return done(problemReply({400, "badCSR", csr.error().message}));
  json::object body = bodyOf(order);
  std::vector<std::string> names = orderNames(body);
  std::set<std::string> want(names.begin(), names.end()), asked;
  for (const auto& n : csr.value().dnsNames()) asked.insert(n);
  if (!csr.value().commonName().empty()) asked.insert(csr.value().commonName());
  if (asked != want || !csr.value().uris().empty() || !csr.value().ips().empty())
    return done(problemReply({400, "badCSR", "the CSR must name exactly the order's identifiers"}));
  store::AcmeRow processing = order;
  processing.status = "processing";
  processing.updated_at = nowMs();
  auto w = d_.store.updateAcme(processing, "ready");
  if (!w.ok()) return done(problemReply(problemOf(w.status())));
  if (!*w) return done(problemReply({403, "orderNotReady", "the order is being finalized already"}));

  issuing::IssueRequest ir;
  const json::object caller = s.account_body["caller"].is_object() ? s.account_body["caller"].as_object()
                                                                   : json::object{};
  ir.caller.issuer = str(caller, "issuer");
  ir.caller.subject = str(caller, "subject");
  if (auto* c = caller.if_contains("claims"); c && c->is_object()) ir.caller.claims = c->as_object();
  ir.ticket = s.account->ticket;
  ir.kind = policies::CredentialKind::kCertificate;
  ir.grant = str(s.account_body, "grant");
  ir.csr = *der;
  ir.dns_names = names;
  auto finish = [this, processing, body, done](issuing::Outcome out) mutable {
    store::AcmeRow next = processing;
    std::optional<Problem> problem;
    if (auto* issued = std::get_if<issuing::Issued>(&out)) {
      json::object& f = issued->fields;
      std::string pem = str(f, "certificate");
      if (auto* chain = f.if_contains("ca_chain"); chain && chain->is_array())
        for (const auto& c : chain->as_array())
          if (c.is_string()) pem += std::string(c.as_string());
      body["certificate"] = pem;
      body["serial"] = str(f, "serial");
      body["lease_id"] = issued->lease_id;
      next.status = "valid";
    } else if (auto* denial = std::get_if<issuing::Denial>(&out)) {
      problem = unauthorized("denied by rule " + denial->rule + ": " + denial->message);
      next.status = "invalid";
    } else {
      const core::Status& st = std::get<core::Status>(out);
      problem = st.code() == core::Code::kInvalidArgument ? Problem{400, "badCSR", st.message()}
                : st.code() == core::Code::kPermissionDenied ? Problem{403, "rejectedIdentifier", st.message()}
                                                             : problemOf(st);
      // A store that is down may come back: the client can finalize again.
      next.status = st.code() == core::Code::kUnavailable ? "ready" : "invalid";
    }
    if (problem && next.status == "invalid")
      body["error"] = json::object{{"type", "urn:ietf:params:acme:error:" + problem->type},
                                   {"detail", problem->detail}};
    next.body = json::serialize(body);
    next.updated_at = nowMs();
    auto w2 = d_.store.updateAcme(next, "processing");
    if (problem) return done(problemReply(*problem));
    if (!w2.ok()) return done(problemReply(problemOf(w2.status())));
    Reply r = jsonReply(200, orderJson(next));
    r.headers.emplace_back("Location", url("/order/" + next.id));
    done(std::move(r));
  };
  // The completion may run on the store's writer thread, which must not wait for the store.
  d_.issuing.issue(
      std::move(ir),
      [offload, finish = std::move(finish)](issuing::Outcome out) mutable {
        offload([finish = std::move(finish), out = std::move(out)]() mutable { finish(std::move(out)); });
      },
      offload);
}

Reply AcmeService::certificate(Signed& s, const std::string& id) {
  auto loaded = loadOrder(s.account->id, id);
  if (auto* p = std::get_if<Problem>(&loaded)) return problemReply(*p);
  const store::AcmeRow& order = std::get<store::AcmeRow>(loaded);
  if (order.status != "valid") return problemReply(notFound("the order has no certificate"));
  Reply r;
  r.content_type = "application/pem-certificate-chain";
  r.body = str(bodyOf(order), "certificate");
  return r;
}

Reply AcmeService::revokeCert(Signed& s) {
  auto der = core::base64urlDecode(str(s.payload, "certificate"));
  auto serial = der ? serialOfDer(*der) : std::nullopt;
  if (!serial) return problemReply(malformed("certificate must be a base64url DER certificate"));
  // RFC 8555 §7.6: a reason is an RFC 5280 CRLReason code (7 is unassigned).
  if (const json::value* why = s.payload.if_contains("reason");
      why && (!why->is_int64() || why->as_int64() < 0 || why->as_int64() > 10 || why->as_int64() == 7))
    return problemReply({400, "badRevocationReason", "reason must be a CRLReason code: 0-6 or 8-10"});
  std::string lease_id;
  if (s.account) {
    auto orders = d_.store.listAcme("order", s.account->id);
    if (!orders.ok()) return problemReply(problemOf(orders.status()));
    for (const auto& o : *orders) {
      json::object b = bodyOf(o);
      if (o.status == "valid" && str(b, "serial") == *serial) lease_id = str(b, "lease_id");
    }
    if (lease_id.empty())
      return problemReply(unauthorized("this account did not obtain that certificate"));
  } else {
    auto found = leaseOfOwnCertificate(s, *der, *serial);
    if (auto* p = std::get_if<Problem>(&found)) return problemReply(*p);
    lease_id = std::get<std::string>(found);
  }
  auto ended = d_.leases.revokeLease(lease_id, "acme_revoked");
  if (!ended.ok()) return problemReply(problemOf(ended.status()));
  if (!*ended) return problemReply({400, "alreadyRevoked", "the certificate is revoked already"});
  Reply r;
  r.body.clear();
  r.content_type.clear();
  return r;
}

std::variant<std::string, Problem> AcmeService::leaseOfOwnCertificate(const Signed& s,
                                                                      const std::string& der,
                                                                      const std::string& serial) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  auto key = jose::publicKeyOfJwk(s.jwk);
  if (!cert || !key.ok() || EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key->get()) != 1)
    return unauthorized("revokeCert must be signed by an account's key or by the certificate's own");
  // A key proves nothing about a certificate someone made up with our serial: only the very
  // certificate an order received (byte for byte) is this server's. The serial's lease names
  // the ticket, so only that ticket's orders are read closely.
  const Problem not_ours = unauthorized("this server did not issue that certificate through ACME");
  auto lease = d_.store.findLeaseBySerial(serial);
  if (!lease.ok()) return problemOf(lease.status());
  if (!lease->has_value() || (*lease)->kind != store::LeaseKind::kCertificate) return not_ours;
  auto orders = d_.store.listAcme("order", "");
  if (!orders.ok()) return problemOf(orders.status());
  for (const auto& o : *orders) {
    if (o.status != "valid" || o.ticket != (*lease)->ticket) continue;
    json::object b = bodyOf(o);
    if (str(b, "serial") == serial && str(b, "lease_id") == (*lease)->id &&
        firstCertificateDer(str(b, "certificate")) == der)
      return (*lease)->id;
  }
  return not_ours;
}

}  // namespace jitb::acme
