// jitctl agent: keeps a certificate fresh for a service. Renews at 2/3 of each certificate's
// life (with jitter), runs a hook or signals a process after each renewal, backs off on
// errors, and exits 5 once the ticket is closed (removing the files when asked).
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "ca/ossl.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace json = boost::json;
using SysClock = std::chrono::system_clock;

namespace {

constexpr const char* kHelp =
    "usage: jitctl agent --ticket ID --cert-out F --key-out F [--chain-out F] [--grant G]\n"
    "         [--ttl 1h] [--on-renew CMD] [--signal SIG --pid-file F] [--ready-file F]\n"
    "         [--subject-token-file F] [--once] [--remove-on-exit] [--json]\n"
    "  Keeps a certificate fresh: renews it at 2/3 of its life (life = not_after - the time it\n"
    "  was written to --cert-out), with jitter. At start a valid certificate already in\n"
    "  --cert-out (matching --key-out, not revoked per the broker's OCSP) is reused: nothing\n"
    "  is issued. The subject token is needed only for the first certificate: renewals prove\n"
    "  identity with the current certificate (mTLS), and fall back to the token only if the\n"
    "  broker refuses it.\n"
    "  Prints 'issued' for the first certificate, 'renewed' for the next ones; with --json one\n"
    "  JSON object a line instead: {\"event\": \"reused\"|\"issued\"|\"renewed\", \"cert\",\n"
    "  \"serial\", \"not_after\", \"lease_id\" and \"via\": \"mtls\"|\"token\" for a new one}.\n"
    "  After each new certificate runs --on-renew (via sh -c) or sends --signal (HUP, USR1,\n"
    "  ...) to the pid in --pid-file. Errors back off from 1 s to 60 s. --once exits after the\n"
    "  first certificate (init containers); --ready-file is written once one is in place.\n"
    "  Exit codes (for a supervisor): 0 stopped by SIGTERM/SIGINT, or --once done;\n"
    "  1 local failure (cannot write the files); 2 usage, or no identity (no subject token and\n"
    "  no valid certificate: restarting does not help); 3 the broker denied (a ticket may\n"
    "  change: restarting may help); 4 the broker unreachable until an hour past the\n"
    "  certificate's expiry; 5 the ticket is closed or its window is over (final).\n"
    "  --remove-on-exit deletes the credential files on exit.\n";

volatile sig_atomic_t g_stop = 0;
void onStop(int) { g_stop = 1; }

int signalNumber(const std::string& name) {
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  if (n == "HUP") return SIGHUP;
  if (n == "USR1") return SIGUSR1;
  if (n == "USR2") return SIGUSR2;
  if (n == "TERM") return SIGTERM;
  if (n == "INT") return SIGINT;
  return 0;
}

// Sleeps until `until` or a stop signal; false when stopped.
bool sleepUntil(SysClock::time_point until) {
  while (!g_stop && SysClock::now() < until)
    std::this_thread::sleep_for(std::min<SysClock::duration>(until - SysClock::now(),
                                                             std::chrono::milliseconds(100)));
  return !g_stop;
}

// A certificate left in --cert-out by an earlier run, reusable when it still has time left and
// --key-out holds its key. `received` is the file's mtime: the agent writes it on receipt, and
// the certificate's notBefore is backdated by the CA, so it does not tell.
struct OnDisk {
  SysClock::time_point received, not_after;
  std::string serial, not_after_text;
  std::string ocsp_request;  // DER; empty when --cert-out does not hold the issuing CA after it
};

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::optional<OnDisk> reusable(const std::string& cert_file, const std::string& key_file) {
  ca::BioPtr cb(BIO_new_file(cert_file.c_str(), "r")), kb(BIO_new_file(key_file.c_str(), "r"));
  if (!cb || !kb) return std::nullopt;
  X509Ptr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr), X509_free);
  X509Ptr issuer(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr), X509_free);  // written after it
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  ERR_clear_error();
  if (!cert || !key || X509_check_private_key(cert.get(), key.get()) != 1) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) return std::nullopt;
  struct stat st {};
  if (stat(cert_file.c_str(), &st) != 0) return std::nullopt;
  OnDisk d;
  d.not_after = SysClock::from_time_t(timegm(&tm));
  d.received = SysClock::from_time_t(st.st_mtim.tv_sec);
  if (SysClock::now() >= d.not_after || d.received >= d.not_after) return std::nullopt;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr), BN_free);
  if (char* hex = bn ? BN_bn2hex(bn.get()) : nullptr) {
    // As the broker prints serials: lowercase hex without leading zeros.
    d.serial = hex;
    OPENSSL_free(hex);
    d.serial.erase(0, std::min(d.serial.find_first_not_of('0'), d.serial.size() - 1));
    for (char& ch : d.serial) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  d.not_after_text = buf;
  if (issuer) {
    std::unique_ptr<OCSP_REQUEST, decltype(&OCSP_REQUEST_free)> req(OCSP_REQUEST_new(), OCSP_REQUEST_free);
    OCSP_CERTID* id = OCSP_cert_to_id(nullptr, cert.get(), issuer.get());
    if (req && id && OCSP_request_add0_id(req.get(), id)) {
      unsigned char* der = nullptr;
      int n = i2d_OCSP_REQUEST(req.get(), &der);
      if (n > 0) d.ocsp_request.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
      OPENSSL_free(der);
    } else if (id) {
      OCSP_CERTID_free(id);
    }
    ERR_clear_error();
  }
  return d;
}

// The broker's OCSP answer for a certificate found on disk: true when revoked (its ticket may
// have closed while the agent was down), false when good, nullopt when it cannot tell (broker
// unreachable: the certificate is reused, its renewal will find out). The answer comes over TLS
// from the broker itself, which is what authenticates it.
std::optional<bool> revokedAtBroker(const Context& c, const OnDisk& d) {
  if (d.ocsp_request.empty()) return std::nullopt;
  client::HttpOptions o;
  o.ca_file = c.ca_file;
  o.timeout = std::chrono::seconds(10);
  auto r = client::httpsRequest("POST", c.broker + "/v1/ocsp",
                                {{"Content-Type", "application/ocsp-request"}}, d.ocsp_request, o);
  if (!r.ok() || r->status != 200) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(r->body.data());
  std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> resp(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(r->body.size())), OCSP_RESPONSE_free);
  if (!resp || OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) return std::nullopt;
  std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)> basic(
      OCSP_response_get1_basic(resp.get()), OCSP_BASICRESP_free);
  if (!basic || OCSP_resp_count(basic.get()) < 1) return std::nullopt;
  int status = OCSP_single_get0_status(OCSP_resp_get0(basic.get(), 0), nullptr, nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (status == V_OCSP_CERTSTATUS_REVOKED) return true;
  if (status == V_OCSP_CERTSTATUS_GOOD) return false;
  return std::nullopt;
}

double jitter() {  // in [0.95, 1.05)
  uint32_t r = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
  return 0.95 + (r % 10000) / 100000.0;
}

}  // namespace

int cmdAgent(const Argv& argv) {
  client::Args a;
  std::set<std::string> flags = kCertFlags;
  for (const char* f : {"--on-renew", "--signal", "--pid-file", "--ready-file"}) flags.insert(f);
  int parsed;
  if (!parseArgs(argv, kHelp, flags, {"--once", "--remove-on-exit"}, a, parsed, /*json=*/true,
                 /*short_help=*/false))
    return parsed;
  if (!a.has("--ticket") || !a.has("--cert-out") || !a.has("--key-out"))
    return usage("--ticket, --cert-out and --key-out are required", kHelp);
  int sig = a.has("--signal") ? signalNumber(a.get("--signal")) : 0;
  if (a.has("--signal") && (!sig || !a.has("--pid-file")))
    return usage("--signal takes HUP, USR1, USR2, TERM or INT, with --pid-file", kHelp);
  Context c = Context::from(a);
  struct sigaction sa {};
  sa.sa_handler = onStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  auto finish = [&](int code, const char* why) {
    if (why) std::fprintf(stderr, "jitctl agent: %s\n", why);
    if (a.has("--remove-on-exit"))
      for (const char* f : {"--cert-out", "--key-out", "--chain-out"})
        if (a.has(f)) std::remove(a.get(f).c_str());
    return code;
  };

  // After each new certificate (or the one reused at start): hook, signal, readiness.
  auto announce = [&] {
    if (a.has("--on-renew") && std::system(a.get("--on-renew").c_str()) != 0)
      std::fprintf(stderr, "jitctl agent: --on-renew command failed\n");
    if (sig) {
      std::ifstream pf(a.get("--pid-file"));
      long pid = 0;
      if (pf >> pid && pid > 0) kill(static_cast<pid_t>(pid), sig);
    }
    if (a.has("--ready-file")) (void)core::writeFileAtomic(a.get("--ready-file"), "ready\n", 0644);
  };
  auto renewAt = [](SysClock::time_point received, SysClock::time_point not_after) {
    auto life = not_after - received;
    return received + std::chrono::duration_cast<SysClock::duration>(life * 2 / 3 * jitter());
  };

  bool have_cert = false;
  SysClock::time_point not_after{};
  auto on_disk = reusable(a.get("--cert-out"), a.get("--key-out"));
  if (on_disk && revokedAtBroker(c, *on_disk).value_or(false)) {
    // Revoked while the agent was down: not for the service. A renewal with it goes first (the
    // broker then says whether its ticket is closed: exit 5), then the subject token.
    std::fprintf(stderr, "jitctl agent: %s is revoked; not reusing it\n", a.get("--cert-out").c_str());
    have_cert = true;
    not_after = on_disk->not_after;
    on_disk.reset();
  }
  if (auto& d = on_disk) {
    // A restart with a valid certificate in place: the service keeps it, nothing is issued.
    have_cert = true;
    not_after = d->not_after;
    if (a.has("--json"))
      std::printf("%s\n", json::serialize(json::object{{"event", "reused"},
                                                       {"cert", a.get("--cert-out")},
                                                       {"serial", d->serial},
                                                       {"not_after", d->not_after_text}})
                               .c_str());
    else
      std::printf("jitctl agent: %s reused (serial %s), valid until %s; nothing issued\n",
                  a.get("--cert-out").c_str(), d->serial.c_str(), d->not_after_text.c_str());
    std::fflush(stdout);
    if (a.has("--ready-file")) (void)core::writeFileAtomic(a.get("--ready-file"), "ready\n", 0644);
    if (a.has("--once")) return kOk;
    if (!sleepUntil(renewAt(d->received, d->not_after))) return finish(kOk, "stopping");
  }
  std::chrono::seconds backoff(1);
  for (;;) {
    if (g_stop) return finish(kOk, "stopping");
    json::object out;
    // The current certificate proves identity while it is valid; the subject token is for the
    // first one, or when the broker no longer accepts the certificate.
    bool mtls = have_cert && SysClock::now() < not_after;
    auto received = SysClock::now();
    int rc = mtls ? issueAndWrite(c, a, a.get("--cert-out"), a.get("--key-out"), out)
                  : issueAndWrite(c, a, a.get("--client-cert"), a.get("--client-key"), out);
    if (mtls && rc == kDenied) {
      std::fprintf(stderr, "jitctl agent: renewal over mTLS refused; trying the subject token\n");
      int again = issueAndWrite(c, a, a.get("--client-cert"), a.get("--client-key"), out);
      if (again == kOk || again == kTicketClosed) {
        rc = again;
        mtls = false;
      }
    }
    if (rc == kTicketClosed) return finish(kTicketClosed, "the ticket is closed; no more renewals");
    if (rc == kUsage)
      return finish(kUsage, have_cert ? "the certificate has expired and there is no subject token"
                                      : "no subject token and no valid certificate to renew");
    if (rc == kDenied) return finish(rc, "the broker refused the certificate");
    if (rc == kFailure) return finish(rc, "cannot write the credential files");
    if (rc != kOk) {
      // Never spin: back off, and give up once the current certificate is long gone.
      if (have_cert && SysClock::now() > not_after + std::chrono::hours(1))
        return finish(kUnreachable, "the certificate expired an hour ago and renewal keeps failing");
      if (!sleepUntil(SysClock::now() + backoff)) return finish(kOk, "stopping");
      backoff = std::min(backoff * 2, std::chrono::seconds(60));
      continue;
    }
    backoff = std::chrono::seconds(1);
    auto na = core::parseRfc3339(std::string(out.at("not_after").as_string()));
    not_after = na ? *na : received + std::chrono::minutes(1);
    if (a.has("--json"))
      std::printf("%s\n", json::serialize(json::object{{"event", have_cert ? "renewed" : "issued"},
                                                       {"cert", a.get("--cert-out")},
                                                       {"serial", out.at("serial")},
                                                       {"not_after", out.at("not_after")},
                                                       {"lease_id", out.at("lease_id")},
                                                       {"via", mtls ? "mtls" : "token"}})
                               .c_str());
    else
      std::printf("jitctl agent: %s %s %s (serial %s, lease %s), valid until %s\n",
                  a.get("--cert-out").c_str(), have_cert ? "renewed" : "issued",
                  mtls ? "over mTLS" : "with the subject token",
                  std::string(out.at("serial").as_string()).c_str(),
                  std::string(out.at("lease_id").as_string()).c_str(),
                  std::string(out.at("not_after").as_string()).c_str());
    std::fflush(stdout);
    have_cert = true;
    announce();
    if (a.has("--once")) return kOk;
    if (!sleepUntil(renewAt(received, not_after))) return finish(kOk, "stopping");
  }
}

}  // namespace jitb::jitctl
