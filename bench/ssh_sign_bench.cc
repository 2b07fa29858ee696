// In-process SSH user-certificate throughput of ca/ssh_ca (one Ed25519 signature, the nonce
// and the encoding per certificate), for 1 and 2 threads; *with_key_parse* parses the user's
// OpenSSH public key line each time, as a request costs. One line per run:
//   ssh_sign alg=ed25519 mode=preparsed threads=1 certs=4000 seconds=0.20 certs_per_s=20000 per_core=20000
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "ca/ssh_ca.h"
#include "ca/ssh_key.h"
#include "ca/ssh_wire.h"

using namespace jitb::ca;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
void run(const char* mode, int threads, int n, F&& sign_one) {
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < n; ++i)
        if (!sign_one()) std::abort();
    });
  for (auto& t : pool) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double rate = threads * n / secs;
  std::printf("ssh_sign alg=ed25519 mode=%s threads=%d certs=%d seconds=%.2f certs_per_s=%.0f "
              "per_core=%.0f\n",
              mode, threads, threads * n, secs, rate, rate / threads);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  auto ca = SshCa::fromKey(std::move(PrivateKey::generate(KeyAlgorithm::kEd25519).value()));
  auto user = PrivateKey::generate(KeyAlgorithm::kEd25519);
  if (!ca.ok() || !user.ok()) return 1;
  // The user's key as a line, the way a request carries it.
  std::string raw(32, '\0');
  size_t len = raw.size();
  EVP_PKEY_get_raw_public_key(user->get(), reinterpret_cast<unsigned char*>(raw.data()), &len);
  sshwire::Writer blob;
  blob.string("ssh-ed25519");
  blob.string(raw);
  const std::string line = "ssh-ed25519 " + sshBase64(blob.bytes()) + " bench";
  SshUserCertRequest req;
  req.key = parseSshPublicKey(line).value();
  req.serial = 42;
  req.key_id = "lease_0123456789abcdef012345";
  req.principals = {"alice@example.com", "ticket-CHG0031337", "ops-admin"};
  req.extensions = {"permit-pty"};
  for (int threads : {1, 2}) {
    run("preparsed", threads, n, [&] {
      auto now = std::chrono::system_clock::now();
      SshUserCertRequest r = req;
      r.valid_before = now + std::chrono::hours(1);
      return ca->signUser(r, now).ok();
    });
    run("with_key_parse", threads, n, [&] {
      auto now = std::chrono::system_clock::now();
      SshUserCertRequest r = req;
      auto key = parseSshPublicKey(line);
      if (!key.ok()) return false;
      r.key = std::move(*key);
      r.valid_before = now + std::chrono::hours(1);
      return ca->signUser(r, now).ok();
    });
  }
  return 0;
}
