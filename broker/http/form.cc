#include "broker/http/form.h"

#include <boost/url/parse.hpp>
#include <boost/url/params_encoded_view.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>

namespace jitb::http {

namespace {
// Form encoding writes spaces as '+'; turn them back before percent-decoding so that an
// encoded "%2B" stays a plus sign.
bool formDecode(boost::urls::pct_string_view raw, std::string& out) {
  std::string s(raw.data(), raw.size());
  for (char& c : s)
    if (c == '+') c = ' ';
  auto pct = boost::urls::make_pct_string_view(s);
  if (!pct) return false;
  out = pct->decode();
  return true;
}
}  // namespace

core::StatusOr<std::map<std::string, std::string>> parseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  if (body.empty()) return out;
  auto parsed = boost::urls::parse_query(body);
  if (!parsed) return core::invalidArgument("malformed form body");
  for (auto p : *parsed) {
    std::string key, value;
    if (!formDecode(p.key, key) || !formDecode(p.value, value))
      return core::invalidArgument("malformed form body");
    if (!out.emplace(key, value).second)
      return core::invalidArgument("parameter '" + key + "' is repeated");
  }
  return out;
}

bool hasContentType(const Request& req, std::string_view type) {
  std::string_view ct = req.header("content-type");
  size_t semi = ct.find(';');
  ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  if (ct.size() != type.size()) return false;
  for (size_t i = 0; i < ct.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(ct[i])) != type[i]) return false;
  return true;
}

std::string_view bearerToken(const Request& req) {
  std::string_view h = req.header("authorization");
  if (h.size() < 7) return {};
  for (size_t i = 0; i < 6; ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != "bearer"[i]) return {};
  if (h[6] != ' ') return {};
  h.remove_prefix(7);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  return h;
}

}  // namespace jitb::http
