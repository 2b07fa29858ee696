// A CA in a temp folder, plus helpers that run the openssl command line on files.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "ca/authority.h"

namespace jitb::ca::testing {

namespace fs = std::filesystem;

struct ShellResult {
  int code;
  std::string out;  // stdout and stderr together
};

inline ShellResult sh(const std::string& cmd) {
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while (p && (n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = p ? pclose(p) : -1;
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

class CaFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("jitb-ca-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<CertificateAuthority> makeCa(KeyAlgorithm a = KeyAlgorithm::kEcP256,
                                               const std::string& sub = "ca") {
    CaConfig cfg;
    cfg.dir = (dir_ / sub).string();
    cfg.algorithm = a;
    cfg.public_url = "https://broker.test:8443";
    auto ca = CertificateAuthority::bootstrap(cfg, now_);
    EXPECT_TRUE(ca.ok()) << (ca.ok() ? "" : ca.error().message);
    if (!ca.ok()) return nullptr;
    spit(dir_ / (sub + "-root.pem"), (*ca)->rootPem());
    spit(dir_ / (sub + "-int.pem"), (*ca)->chainPem()[0]);
    return std::move(*ca);
  }

  // A key and CSR made by the openssl CLI. `key` is an openssl -newkey argument.
  std::string csr(const std::string& name, const std::string& key = "ec -pkeyopt ec_paramgen_curve:P-256",
                  const std::string& subj = "/", const std::string& addext = "") {
    std::string cmd = "openssl req -new -newkey " + key + " -nodes -keyout " +
                      (dir_ / (name + ".key")).string() + " -out " + (dir_ / (name + ".csr")).string() +
                      " -subj '" + subj + "'" + (addext.empty() ? "" : " -addext '" + addext + "'");
    ShellResult r = sh(cmd);
    EXPECT_EQ(r.code, 0) << r.out;
    return slurp(dir_ / (name + ".csr"));
  }

  IssuanceProfile profile(ProfileKind k) {
    IssuanceProfile p;
    p.kind = k;
    p.not_after = now_ + std::chrono::hours(1);
    if (k == ProfileKind::kClient) p.common_name = "alice";
    if (k == ProfileKind::kServer) {
      p.common_name = "api.acme.internal";
      p.dns_sans = {"api.acme.internal"};
      p.ip_sans = {"127.0.0.1"};
    }
    if (k == ProfileKind::kSpiffe) p.uri_sans = {"spiffe://acme.internal/svc/payments"};
    return p;
  }

  IssuedCertificate issueTo(CertificateAuthority& ca, const std::string& name, ProfileKind k,
                            const std::string& addext = "") {
    auto c = Csr::parse(csr(name, "ec -pkeyopt ec_paramgen_curve:P-256", "/", addext));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    auto cert = ca.issue(*c, profile(k), now_);
    EXPECT_TRUE(cert.ok()) << (cert.ok() ? "" : cert.error().message);
    if (!cert.ok()) return {};
    spit(dir_ / (name + ".pem"), cert->pem);
    return *cert;
  }

  fs::path dir_;
  // Whole seconds, since certificate times are.
  TimePoint now_ = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
};

}  // namespace jitb::ca::testing
