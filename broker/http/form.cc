#include "broker/http/form.h"

#include <boost/url/pct_string_view.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>

#include "broker/core/encoding.h"

namespace jitb::http {

namespace {
// Form encoding writes spaces as '+'; turn them back before percent-decoding so that an
// encoded "%2B" stays a plus sign.
bool formDecode(std::string_view raw, std::string& out) {
  std::string s(raw);
  for (char& c : s)
    if (c == '+') c = ' ';
  auto pct = boost::urls::make_pct_string_view(s);
  if (!pct) return false;
  out = pct->decode();
  return true;
}
}  // namespace

// Split by hand: Boost.URL 1.81's parse_query() reads past the end of a view that is not
// NUL-terminated (found by tests/fuzz/form_target_fuzz).
core::StatusOr<std::map<std::string, std::string>> parseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key, value;
    if (!formDecode(pair.substr(0, eq), key) ||
        (eq != std::string_view::npos && !formDecode(pair.substr(eq + 1), value)))
      return core::invalidArgument("malformed form body");
    // What a form carries ends up in JSON (answers, the audit log): text only.
    if (!core::validUtf8(key) || !core::validUtf8(value))
      return core::invalidArgument("form parameters must be UTF-8 text");
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
