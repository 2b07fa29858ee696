// libFuzzer target: arbitrary bytes as the broker's YAML config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)jitb::server::parseConfig(std::string_view(reinterpret_cast<const char*>(data), size),
                                  "fuzz.yaml", "/etc/jitbroker");
  return 0;
}
