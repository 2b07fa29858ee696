// libFuzzer target: arbitrary bytes as a form body and as a request target.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/http/form.h"
#include "broker/http/router.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)jitb::http::parseForm(in);
  jitb::http::Request req;
  (void)jitb::http::parseTarget(in, req);
  return 0;
}
