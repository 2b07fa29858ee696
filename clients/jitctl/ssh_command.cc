// jitctl ssh and ssh-cert: an OpenSSH user certificate from the broker for a key (made here
// with ssh-keygen, or the caller's own), for one ssh session or written to a file. The session
// form revokes the certificate's lease when ssh exits, whatever ended it, and exits with ssh's
// own code; the private key never leaves this machine.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/core/duration.h"
#include "broker/core/files.h"
#include "clients/jitctl/commands.h"
#include "clients/jitctl/context.h"
#include "clients/jitctl/subject_token.h"

namespace jitb::jitctl {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSshHelp =
    "usage: jitctl ssh --ticket ID [--key FILE] [--grant G] [--ttl 1h] [--agent] -- [ssh args]\n"
    "  Makes an Ed25519 key in a private temp folder (or uses FILE, whose public key is\n"
    "  FILE.pub), gets an SSH certificate for it, runs ssh -i KEY -o CertificateFile=CERT with\n"
    "  the arguments after --, revokes the certificate's lease when ssh exits and exits with\n"
    "  ssh's code (128+N when signal N ended it). --agent also adds key and certificate to the\n"
    "  running ssh-agent for the certificate's lifetime (ssh-add -t).\n";
constexpr const char* kSshCertHelp =
    "usage: jitctl ssh-cert --ticket ID --public-key F --out F-cert.pub [--grant G] [--ttl 1h]\n"
    "                       [--agent] [--json]\n"
    "  Gets an SSH certificate for the public key F and writes it to --out (0600). With\n"
    "  --agent, the private key beside F (F without .pub) and the certificate are added to the\n"
    "  running ssh-agent with a lifetime equal to the certificate's (ssh-add -t); --out must\n"
    "  then be that key's -cert.pub file, where ssh-add looks for it.\n";

const std::set<std::string> kSshFlags = {"--ticket", "--key", "--grant", "--ttl"};
const std::set<std::string> kSshCertFlags = {"--ticket", "--public-key", "--out", "--grant",
                                             "--ttl"};

volatile sig_atomic_t g_ssh = 0;
void forward(int sig) {
  if (g_ssh > 0) kill(static_cast<pid_t>(g_ssh), sig);
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv to completion; its exit code, 128+N for signal N, 127 when it cannot start.
int runProcess(const std::vector<std::string>& argv, bool quiet = false) {
  pid_t pid = fork();
  if (pid == 0) {
    if (quiet) {
      FILE* null = std::fopen("/dev/null", "w");
      if (null) dup2(fileno(null), STDOUT_FILENO);
    }
    std::vector<char*> args;
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "jitctl: cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  if (pid < 0) return kFailure;
  g_ssh = pid;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_ssh = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kFailure;
}

// POST /v1/ssh/certificates for `public_key`; the broker's answer in `out`.
int requestCertificate(const Context& c, const client::Args& a, const std::string& public_key,
                       json::object& out) {
  json::object body{{"ticket", a.get("--ticket")}, {"public_key", public_key}};
  if (a.has("--grant")) body["grant"] = a.get("--grant");
  if (a.has("--ttl")) {
    auto d = core::parseDuration(a.get("--ttl"));
    if (!d || d->count() < 1000) return usage("--ttl must be a duration such as 1h", kSshHelp);
    body["ttl"] = d->count() / 1000;
  }
  auto subject = findSubjectToken(a);
  if (!subject.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", subject.status().message().c_str());
    return kUsage;
  }
  client::HttpReply reply;
  int rc = c.call("POST", "/v1/ssh/certificates",
                  {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + *subject}},
                  json::serialize(body), reply);
  if (rc != kOk) return rc;
  out = json::parse(reply.body).as_object();
  return kOk;
}

// Seconds from now until the certificate's valid_before: ssh-add -t, so that the agent forgets
// the key when the certificate stops working.
long secondsLeft(const json::object& cert) {
  auto until = core::parseRfc3339(std::string(cert.at("valid_before").as_string()));
  if (!until) return 1;
  auto left = std::chrono::floor<std::chrono::seconds>(*until - std::chrono::system_clock::now());
  return std::max<long>(1, static_cast<long>(left.count()));
}

int addToAgent(const std::string& key, const json::object& cert) {
  int rc = runProcess({"ssh-add", "-q", "-t", std::to_string(secondsLeft(cert)), key});
  if (rc != 0) std::fprintf(stderr, "jitctl: ssh-add failed (is an ssh-agent running?)\n");
  return rc == 0 ? kOk : kFailure;
}

// The holder's revocation; with a fresh subject token, since the session may have outlived the
// first one.
void revokeLease(const Context& c, const client::Args& a, const std::string& lease_id) {
  auto subject = findSubjectToken(a);
  client::HttpReply reply;
  int rc = subject.ok() ? c.call("POST", "/v1/ssh/revoke",
                                 {{"Content-Type", "application/json"},
                                  {"Authorization", "Bearer " + *subject}},
                                 json::serialize(json::object{{"lease_id", lease_id}}), reply)
                        : kUsage;
  if (rc != kOk)
    std::fprintf(stderr,
                 "jitctl: lease %s could not be revoked; the certificate expires on its own\n",
                 lease_id.c_str());
}

}  // namespace

int cmdSsh(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kSshHelp, kSshFlags, {"--agent"}, a, code, /*json=*/false,
                 /*short_help=*/false))
    return code;
  if (!a.has("--ticket")) return usage("--ticket is required", kSshHelp);
  Context c = Context::from(a);

  const char* tmp_env = std::getenv("TMPDIR");
  std::string dir = std::string(tmp_env && *tmp_env ? tmp_env : "/tmp") + "/jitctl-ssh-XXXXXX";
  if (!mkdtemp(dir.data())) {  // 0700
    std::fprintf(stderr, "jitctl: cannot make a temp folder\n");
    return kFailure;
  }
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{dir};
  std::string key = a.get("--key");
  if (key.empty()) {
    key = dir + "/id_ed25519";
    if (runProcess({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jitctl", "-f", key},
                   true) != 0) {
      std::fprintf(stderr, "jitctl: ssh-keygen could not make a key\n");
      return kFailure;
    }
  }
  auto pub = readFile(key + ".pub");
  if (!pub) return usage("cannot read the public key " + key + ".pub", kSshHelp);
  json::object cert;
  if (int rc = requestCertificate(c, a, *pub, cert); rc != kOk) return rc;
  const std::string lease_id(cert.at("lease_id").as_string());
  const std::string cert_file = dir + "/id-cert.pub";
  if (core::Status st = core::writeFileAtomic(
          cert_file, std::string(cert.at("certificate").as_string()) + "\n", 0600);
      !st.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", st.message().c_str());
    revokeLease(c, a, lease_id);
    return kFailure;
  }
  if (a.has("--agent")) (void)addToAgent(key, cert);

  struct sigaction sa {};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
  std::vector<std::string> ssh{"ssh", "-i", key, "-o", "CertificateFile=" + cert_file,
                               "-o", "IdentitiesOnly=yes"};
  for (const auto& s : a.rest()) ssh.push_back(s);
  int rc = runProcess(ssh);
  // Whatever ended ssh: the certificate must not outlive the session.
  revokeLease(c, a, lease_id);
  return rc;
}

int cmdSshCert(const Argv& argv) {
  client::Args a;
  int code;
  if (!parseArgs(argv, kSshCertHelp, kSshCertFlags, {"--agent"}, a, code, /*json=*/true,
                 /*short_help=*/false))
    return code;
  if (!a.has("--ticket") || !a.has("--public-key") || !a.has("--out"))
    return usage("--ticket, --public-key and --out are required", kSshCertHelp);
  std::string pub_file = a.get("--public-key");
  std::string key = pub_file.size() > 4 && pub_file.substr(pub_file.size() - 4) == ".pub"
                        ? pub_file.substr(0, pub_file.size() - 4)
                        : std::string();
  if (a.has("--agent") && (key.empty() || a.get("--out") != key + "-cert.pub"))
    return usage("--agent needs --public-key KEY.pub and --out KEY-cert.pub", kSshCertHelp);
  auto pub = readFile(pub_file);
  if (!pub) return usage("cannot read " + pub_file, kSshCertHelp);
  Context c = Context::from(a);
  json::object cert;
  if (int rc = requestCertificate(c, a, *pub, cert); rc != kOk) return rc;
  if (core::Status st = core::writeFileAtomic(
          a.get("--out"), std::string(cert.at("certificate").as_string()) + "\n", 0600);
      !st.ok()) {
    std::fprintf(stderr, "jitctl: %s\n", st.message().c_str());
    return kFailure;
  }
  if (a.has("--agent"))
    if (int rc = addToAgent(key, cert); rc != kOk) return rc;
  if (c.json) {
    cert.erase("certificate");
    printJson(cert);
  } else {
    std::printf("%s: serial %s, principals", a.get("--out").c_str(),
                std::string(cert.at("serial").as_string()).c_str());
    for (const auto& p : cert.at("principals").as_array())
      std::printf(" %s", std::string(p.as_string()).c_str());
    std::printf(", valid until %s (lease %s)\n",
                std::string(cert.at("valid_before").as_string()).c_str(),
                std::string(cert.at("lease_id").as_string()).c_str());
  }
  return kOk;
}

}  // namespace jitb::jitctl
