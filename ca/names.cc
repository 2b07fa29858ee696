#include "ca/names.h"

#include <algorithm>

namespace jitb::ca {

namespace {
bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
bool segmentOk(std::string_view seg, bool lower_only) {
  if (seg.empty()) return false;
  for (char c : seg) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
              (!lower_only && c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}
}  // namespace

bool isDnsName(std::string_view n) {
  if (n.empty() || n.size() > 253) return false;
  size_t start = 0;
  while (start <= n.size()) {
    size_t end = n.find('.', start);
    if (end == std::string_view::npos) end = n.size();
    std::string_view label = n.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (end == n.size()) break;
    start = end + 1;
  }
  return true;
}

bool isSpiffeId(std::string_view u) {
  constexpr std::string_view kScheme = "spiffe://";
  if (u.size() > 2048 || u.substr(0, kScheme.size()) != kScheme) return false;
  std::string_view rest = u.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;  // a leaf needs a path
  std::string_view domain = rest.substr(0, slash), path = rest.substr(slash + 1);
  if (domain.size() > 255 || !segmentOk(domain, true)) return false;
  if (path.empty() || path.back() == '/') return false;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (!segmentOk(seg, false) || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return true;
}

Result<bool> validateProfile(const IssuanceProfile& p) {
  for (const auto& d : p.dns_sans)
    if (!isDnsName(d)) return invalid("'" + d + "' is not a valid DNS name");
  for (const auto& u : p.uri_sans) {
    if (u.find("://") == std::string::npos || u.size() > 2048) return invalid("'" + u + "' is not a URI");
    for (char c : u)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return invalid("'" + u + "' is not a URI");
  }
  if (p.kind == ProfileKind::kSpiffe) {
    if (p.uri_sans.size() != 1) return invalid("a SPIFFE certificate carries exactly one URI SAN");
    if (!isSpiffeId(p.uri_sans[0])) return invalid("'" + p.uri_sans[0] + "' is not a valid SPIFFE ID");
  }
  if (p.kind == ProfileKind::kServer && p.dns_sans.empty() && p.ip_sans.empty())
    return invalid("a server certificate needs at least one DNS or IP name");
  if (p.common_name.size() > 64) return invalid("the common name is longer than 64 characters");
  return true;
}

Result<bool> csrWithinProfile(const Csr& csr, const IssuanceProfile& p) {
  for (const auto& d : csr.dnsNames())
    if (!contains(p.dns_sans, d)) return denied("csr asks for DNS name '" + d + "', which the grant does not allow");
  for (const auto& u : csr.uris())
    if (!contains(p.uri_sans, u)) return denied("csr asks for URI '" + u + "', which the grant does not allow");
  for (const auto& ip : csr.ips())
    if (!contains(p.ip_sans, ip)) return denied("csr asks for IP address '" + ip + "', which the grant does not allow");
  const std::string& cn = csr.commonName();
  if (!cn.empty() && cn != p.common_name && !contains(p.dns_sans, cn))
    return denied("csr asks for common name '" + cn + "', which the grant does not allow");
  return true;
}

}  // namespace jitb::ca
