// In-process certificate issuance throughput. For each CA algorithm (P-256, Ed25519) and 1 or
// 2 threads, issues N certificates from one pre-parsed CSR (the CA's own cost: one signature
// plus encoding), then N more parsing the CSR each time (what a request costs the CA step).
// One line per run:
//   ca_sign alg=p256 mode=preparsed threads=1 certs=4000 seconds=0.52 certs_per_s=7692 per_core=7692
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "ca/authority.h"

using namespace jitb::ca;
using Clock = std::chrono::steady_clock;

namespace {

std::string makeCsr(const PrivateKey& key) {
  ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("repo:acme/api"), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key.get());
  X509_REQ_sign(req.get(), key.get(), key.signingDigest());
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(b.get(), req.get());
  return bioString(b.get());
}

template <class F>
void run(const char* alg, const char* mode, int threads, int n, F&& issue_one) {
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < n; ++i)
        if (!issue_one()) std::abort();
    });
  for (auto& t : pool) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double rate = threads * n / secs;
  std::printf("ca_sign alg=%s mode=%s threads=%d certs=%d seconds=%.2f certs_per_s=%.0f per_core=%.0f\n",
              alg, mode, threads, threads * n, secs, rate, rate / threads);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 4000;
  char tmpl[] = "/tmp/jitb-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  for (auto [alg, name] : {std::pair{KeyAlgorithm::kEcP256, "p256"}, {KeyAlgorithm::kEd25519, "ed25519"}}) {
    CaConfig cfg;
    cfg.dir = dir + "/" + name;
    cfg.algorithm = alg;
    cfg.public_url = "https://127.0.0.1:8443";
    auto now = std::chrono::system_clock::now();
    auto ca = CertificateAuthority::bootstrap(cfg, now);
    auto leaf_key = PrivateKey::generate(alg);
    if (!ca.ok() || !leaf_key.ok()) return 1;
    std::string pem = makeCsr(*leaf_key);
    auto csr = Csr::parse(pem);
    if (!csr.ok()) return 1;
    IssuanceProfile p;
    p.kind = ProfileKind::kClient;
    p.common_name = "repo:acme/api";
    p.not_after = now + std::chrono::hours(1);
    for (int threads : {1, 2}) {
      run(name, "preparsed", threads, n, [&] { return (*ca)->issue(*csr, p, now).ok(); });
      run(name, "with_csr_parse", threads, n, [&] {
        auto c = Csr::parse(pem);
        return c.ok() && (*ca)->issue(*c, p, now).ok();
      });
    }
  }
  return 0;
}
