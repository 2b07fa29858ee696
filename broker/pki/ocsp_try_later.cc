#include "broker/pki/ocsp_try_later.h"

#include <openssl/ocsp.h>

#include <memory>

namespace jitb::pki {

std::string ocspTryLaterDer() {
  std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> r(
      OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr), &OCSP_RESPONSE_free);
  if (!r) return {};
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_RESPONSE(r.get(), &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace jitb::pki
