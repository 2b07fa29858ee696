// jitctl agent: keeps a certificate fresh for a service. Renews at 2/3 of each certificate's
// life (with jitter), runs a hook or signals a process after each renewal, backs off on
// errors, and exits 5 once the ticket is closed (removing the files when asked).
#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"

namespace jitb::jitctl {

namespace json = boost::json;
using SysClock = std::chrono::system_clock;

namespace {

constexpr const char* kHelp =
    "usage: jitctl agent --ticket ID --cert-out F --key-out F [--chain-out F] [--grant G]\n"
    "         [--ttl 1h] [--on-renew CMD] [--signal SIG --pid-file F] [--ready-file F]\n"
    "         [--once] [--remove-on-exit]\n"
    "  Fetches a certificate, then renews it at 2/3 of its life (life = not_after - the time it\n"
    "  was received), with jitter. After each renewal runs --on-renew (via sh -c) or sends\n"
    "  --signal (HUP, USR1, ...) to the pid in --pid-file. Renewals use the current certificate\n"
    "  (mTLS) when no subject token is available. Errors back off from 1 s to 60 s. Exits 5 when\n"
    "  the ticket is closed or its window is over, 3 when the broker denies, 0 on SIGTERM;\n"
    "  --remove-on-exit deletes the credential files then. --once exits 0 after the first\n"
    "  certificate (init containers); --ready-file is written after it.\n";

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
  flags.insert(kGlobalFlags.begin(), kGlobalFlags.end());
  if (auto err = client::Args::parse(argv, flags, {"--once", "--remove-on-exit", "--help"}, a))
    return usage(*err, kHelp);
  if (a.has("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
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

  bool have_cert = false;
  SysClock::time_point not_after{};
  std::chrono::seconds backoff(1);
  for (;;) {
    if (g_stop) return finish(kOk, "stopping");
    json::object out;
    // Renewals can prove identity with the certificate itself when no token is around.
    bool token_available = a.has("--subject-token-file") || std::getenv("JITBROKER_SUBJECT_TOKEN") ||
                           std::getenv("ACTIONS_ID_TOKEN_REQUEST_URL") ||
                           std::getenv(a.get("--subject-token-env", "JITBROKER_ID_TOKEN").c_str());
    bool mtls = have_cert && !token_available && SysClock::now() < not_after;
    auto received = SysClock::now();
    int rc = issueAndWrite(c, a, mtls ? a.get("--cert-out") : a.get("--client-cert"),
                           mtls ? a.get("--key-out") : a.get("--client-key"), out);
    if (rc == kTicketClosed) return finish(kTicketClosed, "the ticket is closed; no more renewals");
    if (rc == kDenied || rc == kUsage) return finish(rc, "the broker refused the renewal");
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
    have_cert = true;
    std::printf("jitctl agent: %s renewed (serial %s), valid until %s\n",
                a.get("--cert-out").c_str(), std::string(out.at("serial").as_string()).c_str(),
                std::string(out.at("not_after").as_string()).c_str());
    std::fflush(stdout);
    if (a.has("--on-renew") && std::system(a.get("--on-renew").c_str()) != 0)
      std::fprintf(stderr, "jitctl agent: --on-renew command failed\n");
    if (sig) {
      std::ifstream pf(a.get("--pid-file"));
      long pid = 0;
      if (pf >> pid && pid > 0) kill(static_cast<pid_t>(pid), sig);
    }
    if (a.has("--ready-file")) (void)core::writeFileAtomic(a.get("--ready-file"), "ready\n", 0644);
    if (a.has("--once")) return kOk;
    auto life = not_after - received;
    auto renew_at = received + std::chrono::duration_cast<SysClock::duration>(life * 2 / 3 * jitter());
    if (!sleepUntil(renew_at)) return finish(kOk, "stopping");
  }
}

}  // namespace jitb::jitctl
