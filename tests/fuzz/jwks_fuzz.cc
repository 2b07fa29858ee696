// libFuzzer target: arbitrary bytes as a JWKS document.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/jose/jwks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto set = jitb::jose::KeySet::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (set.ok()) (void)set->find("k", jitb::jose::Alg::kES256);
  return 0;
}
