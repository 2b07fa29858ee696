// Minimal DER writing for the certificate fast path (RFC 5280 structures built directly, so
// issuing does no per-certificate ASN.1 object trees, config strings or implicit fetches).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace jitb::ca::der {

inline void appendLength(std::string& out, size_t n) {
  if (n < 0x80) {
    out += static_cast<char>(n);
    return;
  }
  char buf[8];
  int k = 0;
  while (n) {
    buf[k++] = static_cast<char>(n & 0xff);
    n >>= 8;
  }
  out += static_cast<char>(0x80 | k);
  while (k) out += buf[--k];
}

inline std::string tlv(uint8_t tag, std::string_view content) {
  std::string out;
  out.reserve(content.size() + 6);
  out += static_cast<char>(tag);
  appendLength(out, content.size());
  out.append(content);
  return out;
}

inline std::string seq(std::string_view content) { return tlv(0x30, content); }

// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
inline std::string time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  if (tm.tm_year + 1900 < 2050) {
    std::strftime(buf, sizeof buf, "%y%m%d%H%M%SZ", &tm);
    return tlv(0x17, buf);
  }
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%SZ", &tm);
  return tlv(0x18, buf);
}

}  // namespace jitb::ca::der
