#include "broker/tickets/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <vector>

#include "broker/core/encoding.h"

namespace jitb::tickets {

namespace {

std::string hmacSha256(std::string_view msg, std::string_view secret) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string mac(std::string_view body, std::string_view secret, std::string_view t) {
  std::string msg;
  msg.reserve(t.size() + 1 + body.size());
  msg.append(t).append(".").append(body);
  return hmacSha256(msg, secret);
}

bool unhex(std::string_view hex, std::string& out) {
  if (hex.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) return false;
    out.push_back(static_cast<char>(v));
  }
  return true;
}

core::Status unauth(const char* why) { return {core::Code::kUnauthenticated, why}; }

}  // namespace

std::string signBody(std::string_view body, std::string_view secret, int64_t t) {
  std::string ts = std::to_string(t);
  return "t=" + ts + ",v1=" + core::hexEncode(mac(body, secret, ts));
}

core::Status verifySignature(std::string_view header, std::string_view body,
                             std::string_view secret, core::TimePoint now,
                             std::chrono::seconds tolerance) {
  if (header.empty()) return unauth("missing X-Jitbroker-Signature header");
  std::string_view t;
  std::vector<std::string_view> sigs;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view part = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.rfind("t=", 0) == 0) t = part.substr(2);
    else if (part.rfind("v1=", 0) == 0) sigs.push_back(part.substr(3));
  }
  int64_t ts = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), ts);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size() || sigs.empty())
    return unauth("malformed X-Jitbroker-Signature header");
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (ts > now_s + tolerance.count() || ts < now_s - tolerance.count())
    return unauth("signature timestamp is outside the allowed tolerance");
  std::string expected = mac(body, secret, t);
  bool match = false;
  for (auto s : sigs) {
    std::string raw;
    // Every candidate is compared in full, in constant time.
    if (unhex(s, raw) && raw.size() == expected.size())
      match |= CRYPTO_memcmp(raw.data(), expected.data(), raw.size()) == 0;
  }
  if (!match) return unauth("signature does not match");
  return core::okStatus();
}

core::Status verifyHubSignature(std::string_view header, std::string_view body,
                                std::string_view secret) {
  if (header.empty()) return unauth("missing X-Hub-Signature header");
  if (header.rfind("sha256=", 0) != 0) return unauth("X-Hub-Signature must be sha256=<hex>");
  std::string raw, expected = hmacSha256(body, secret);
  if (!unhex(header.substr(7), raw) || raw.size() != expected.size() ||
      CRYPTO_memcmp(raw.data(), expected.data(), raw.size()) != 0)
    return unauth("signature does not match");
  return core::okStatus();
}

}  // namespace jitb::tickets
