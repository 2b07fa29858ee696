// libFuzzer target: arbitrary bytes as a person or subject (policies/engine/identity.h).
// Oracles: a normalised form is stable (normalising it again changes nothing), and the ASCII
// fast path agrees with ICU's path: a trailing NBSP, which forces the ICU path and is trimmed,
// changes neither the result nor whether the input is refused.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policies/engine/identity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using jitb::policies::normaliseIdentity;
  std::string raw(reinterpret_cast<const char*>(data), size);
  auto once = normaliseIdentity(raw);
  if (once) {
    auto twice = normaliseIdentity(*once);
    if (!twice || *twice != *once || once->empty()) std::abort();
  }
  auto padded = normaliseIdentity(raw + "\xc2\xa0");
  if (padded.has_value() != once.has_value() || (once && *padded != *once)) std::abort();
  return 0;
}
