#include "ca/ssh_key.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include <array>
#include <memory>
#include <optional>

#include "ca/ssh_wire.h"

namespace jitb::ca {

namespace {

constexpr size_t kMaxLine = 16 * 1024;
constexpr int kMinRsaBits = 3072;
constexpr int kMaxRsaBits = 16384;

std::optional<std::string> base64Decode(std::string_view in) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    int v = 0;
    if (i >= in.size() - pad) {
      v = 0;  // padding
    } else {
      v = table[static_cast<uint8_t>(in[i])];
      if (v < 0) return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    if (i % 4 == 3) {
      out.push_back(static_cast<char>((acc >> 16) & 0xff));
      out.push_back(static_cast<char>((acc >> 8) & 0xff));
      out.push_back(static_cast<char>(acc & 0xff));
      acc = 0;
    }
  }
  out.resize(out.size() - pad);
  return out;
}

// A positive mpint (no negative numbers, no superfluous leading zero); its bit length.
std::optional<int> positiveMpintBits(std::string_view m) {
  if (m.empty()) return std::nullopt;
  if (static_cast<uint8_t>(m[0]) & 0x80) return std::nullopt;  // negative
  if (m[0] == 0) {
    if (m.size() < 2 || !(static_cast<uint8_t>(m[1]) & 0x80)) return std::nullopt;
    m.remove_prefix(1);
  }
  int top = 0;
  for (uint8_t b = static_cast<uint8_t>(m[0]); b; b >>= 1) ++top;
  return static_cast<int>((m.size() - 1) * 8) + top;
}

bool onP256(std::string_view point) {
  if (point.size() != 65 || point[0] != 0x04) return false;  // uncompressed only, as OpenSSH
  std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> g(
      EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1), EC_GROUP_free);
  if (!g) return false;
  std::unique_ptr<EC_POINT, decltype(&EC_POINT_free)> p(EC_POINT_new(g.get()), EC_POINT_free);
  return p &&
         EC_POINT_oct2point(g.get(), p.get(), reinterpret_cast<const unsigned char*>(point.data()),
                            point.size(), nullptr) == 1 &&
         EC_POINT_is_on_curve(g.get(), p.get(), nullptr) == 1 &&
         EC_POINT_is_at_infinity(g.get(), p.get()) == 0;
}

}  // namespace

std::string_view SshPublicKey::fields() const {
  return std::string_view(blob).substr(4 + type.size());
}

Result<SshPublicKey> parseSshPublicKeyBlob(std::string_view blob) {
  sshwire::Reader r(blob);
  std::string_view type;
  if (!r.string(type)) return invalid("public key: truncated key blob");
  SshPublicKey key;
  key.type = std::string(type);
  key.blob = std::string(blob);
  if (type == "ssh-ed25519") {
    std::string_view pk;
    if (!r.string(pk) || pk.size() != 32 || !r.empty())
      return invalid("public key: malformed ssh-ed25519 key");
    key.bits = 256;
  } else if (type == "ecdsa-sha2-nistp256") {
    std::string_view curve, point;
    if (!r.string(curve) || !r.string(point) || !r.empty())
      return invalid("public key: malformed ecdsa-sha2-nistp256 key");
    if (curve != "nistp256") return invalid("public key: ecdsa key names a curve other than nistp256");
    if (!onP256(point)) return invalid("public key: the ecdsa point is not on P-256");
    key.bits = 256;
  } else if (type == "ssh-rsa") {
    std::string_view e, n;
    if (!r.string(e) || !r.string(n) || !r.empty())
      return invalid("public key: malformed ssh-rsa key");
    auto ebits = positiveMpintBits(e);
    auto nbits = positiveMpintBits(n);
    if (!ebits || !nbits || (static_cast<uint8_t>(e.back()) & 1) == 0 || *ebits < 2)
      return invalid("public key: malformed ssh-rsa key");
    if (*nbits < kMinRsaBits)
      return invalid("public key: ssh-rsa keys must have at least 3072 bits, this one has " +
                     std::to_string(*nbits));
    if (*nbits > kMaxRsaBits) return invalid("public key: ssh-rsa key larger than 16384 bits");
    key.bits = *nbits;
  } else {
    std::string shown(type.substr(0, 64));
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    return invalid("public key: type '" + shown +
                   "' is not accepted (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa >= 3072 bits)");
  }
  return key;
}

Result<SshPublicKey> parseSshPublicKey(std::string_view line) {
  if (line.size() > kMaxLine) return invalid("public key: longer than 16 KiB");
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!line.empty() && isSpace(line.front())) line.remove_prefix(1);
  while (!line.empty() && isSpace(line.back())) line.remove_suffix(1);
  size_t sp = line.find_first_of(" \t");
  if (sp == std::string_view::npos)
    return invalid("public key: expected an OpenSSH public key line '<type> <base64> [comment]'");
  std::string_view type = line.substr(0, sp);
  std::string_view rest = line.substr(sp);
  while (!rest.empty() && isSpace(rest.front())) rest.remove_prefix(1);
  std::string_view b64 = rest.substr(0, rest.find_first_of(" \t"));
  auto blob = base64Decode(b64);
  if (!blob) return invalid("public key: the key blob is not valid base64");
  auto key = parseSshPublicKeyBlob(*blob);
  if (!key.ok()) return key;
  if (key->type != type) return invalid("public key: the line's type does not match the key blob");
  return key;
}

std::string sshBase64(std::string_view in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += {a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
  }
  if (in.size() - i == 1) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += {a[(v >> 18) & 63], a[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += {a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
  }
  return out;
}

}  // namespace jitb::ca
