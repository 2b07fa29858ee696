// Minimal DER reading: enough to walk a certificate signing request without OpenSSL's generic
// decoders (ca/csr.cc). Strict: definite, minimally encoded lengths only; anything else fails.
#pragma once

#include <cstdint>
#include <string_view>

namespace jitb::ca::der {

struct Tlv {
  uint8_t tag = 0;
  std::string_view content;  // the value
  std::string_view whole;    // tag, length and value, as encoded
};

// Reads one TLV from the front of `in` and advances past it; false on any malformed input.
inline bool read(std::string_view& in, Tlv& out) {
  if (in.size() < 2) return false;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(in[i]); };
  if ((byte(0) & 0x1f) == 0x1f) return false;  // high tag numbers: not in a CSR's skeleton
  size_t len = byte(1), head = 2;
  if (len & 0x80) {
    size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n || byte(2) == 0) return false;
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | byte(2 + i);
    if (len < 0x80) return false;  // not minimal
    head = 2 + n;
  }
  if (in.size() - head < len) return false;
  out.tag = byte(0);
  out.content = in.substr(head, len);
  out.whole = in.substr(0, head + len);
  in.remove_prefix(head + len);
  return true;
}

inline bool read(std::string_view& in, uint8_t tag, Tlv& out) {
  return read(in, out) && out.tag == tag;
}

}  // namespace jitb::ca::der
