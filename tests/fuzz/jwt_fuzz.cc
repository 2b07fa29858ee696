// libFuzzer target: arbitrary bytes as a caller JWT, verified against a fixed key set.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/jose/verifier.h"

using namespace jitb::jose;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const KeySet keys = *KeySet::parse(
      R"({"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"OKP","crv":"Ed25519","kid":"d","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})");
  std::string_view token(reinterpret_cast<const char*>(data), size);
  (void)decodeCompact(token);
  (void)verifyJwt(token, keys, {"https://issuer", "jitbroker"},
                  std::chrono::system_clock::from_time_t(1795456800));
  return 0;
}
