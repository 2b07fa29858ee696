// libFuzzer target: arbitrary bytes as an OCSP request to a real CA (made once in a temp dir).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "ca/authority.h"

using namespace jitb::ca;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<CertificateAuthority> ca = [] {
    char dir[] = "/tmp/jitb-ocsp-fuzz-XXXXXX";
    CaConfig cfg;
    cfg.dir = mkdtemp(dir);
    auto r = CertificateAuthority::bootstrap(cfg, std::chrono::system_clock::now());
    if (!r.ok()) std::abort();
    return std::move(*r);
  }();
  OcspAnswer a = ca->respondOcsp(
      std::string_view(reinterpret_cast<const char*>(data), size),
      [](const std::string& serial) {
        return serial.size() % 2 ? CertStatus{CertState::kGood} : CertStatus{CertState::kRevoked};
      },
      std::chrono::system_clock::now(), std::chrono::minutes(5));
  if (a.response_der.empty()) std::abort();  // every input gets an OCSP answer
  return 0;
}
