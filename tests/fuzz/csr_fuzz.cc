// libFuzzer target: arbitrary bytes as a CSR (PEM or DER). Must never crash or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ca/csr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto csr = jitb::ca::Csr::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (csr.ok()) (void)csr->dnsNames().size();
  return 0;
}
