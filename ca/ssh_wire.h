// RFC 4251 §5 encodings as OpenSSH uses them for keys, certificates and KRLs: big-endian
// integers, length-prefixed strings and mpints. The reader never reads past its input: every
// get reports failure instead, so malformed keys are an error and never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace jitb::ca::sshwire {

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<char>((v >> s) & 0xff));
  }
  void u64(uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) out_.push_back(static_cast<char>((v >> s) & 0xff));
  }
  void string(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  // A non-negative big-endian magnitude as an mpint: no leading zero bytes, except one when the
  // top bit is set (it would otherwise read as negative); zero is the empty string.
  void mpint(std::string_view magnitude) {
    size_t i = 0;
    while (i < magnitude.size() && magnitude[i] == 0) ++i;
    magnitude.remove_prefix(i);
    bool pad = !magnitude.empty() && (static_cast<uint8_t>(magnitude[0]) & 0x80) != 0;
    u32(static_cast<uint32_t>(magnitude.size() + (pad ? 1 : 0)));
    if (pad) out_.push_back('\0');
    out_.append(magnitude);
  }
  void raw(std::string_view s) { out_.append(s); }
  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u32(uint32_t& v) {
    if (in_.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool u64(uint64_t& v) {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool string(std::string_view& s) {
    uint32_t n = 0;
    if (!u32(n) || in_.size() < n) return false;
    s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace jitb::ca::sshwire
