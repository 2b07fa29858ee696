#include "policies/engine/ssh_rule.h"

#include <arpa/inet.h>

#include <charconv>
#include <string>

namespace jitb::policies {

bool isSshExtension(std::string_view n) {
  for (std::string_view known : {"permit-pty", "permit-X11-forwarding", "permit-agent-forwarding",
                                 "permit-port-forwarding", "permit-user-rc"})
    if (n == known) return true;
  size_t at = n.find('@');
  if (at == 0 || at == n.npos || at + 1 == n.size() || n.size() > 128) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '.' || c == '_' || c == '@'))
      return false;
  return n.find('@', at + 1) == n.npos;
}

bool isCidrList(std::string_view list) {
  if (list.empty() || list.size() > 2048) return false;
  size_t start = 0;
  while (true) {
    size_t end = list.find(',', start);
    std::string_view item = list.substr(start, end == list.npos ? list.npos : end - start);
    size_t slash = item.find('/');
    std::string addr(item.substr(0, slash));
    unsigned char buf[16];
    int max_len = 0;
    if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
      max_len = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
      max_len = 128;
    } else {
      return false;
    }
    if (slash != item.npos) {
      std::string_view len = item.substr(slash + 1);
      int v = -1;
      auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
      if (len.empty() || ec != std::errc() || p != len.data() + len.size() || v < 0 || v > max_len)
        return false;
    }
    if (end == list.npos) return true;
    start = end + 1;
  }
}

}  // namespace jitb::policies
