#include "policies/engine/san_template.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace jitb::policies {

namespace {

constexpr size_t kMaxValue = 255;

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool isLowerDnsChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// Literal characters the author may write in a URI template: RFC 3986 unreserved, gen-delims
// and sub-delims, and '%'. Spaces, quotes, backslashes and braces are never meaningful here.
bool isUriLiteralChar(char c) {
  if (isAlnum(c)) return true;
  for (char ok : std::string_view("-._~:/?#[]@!$&'()*+,;=%"))
    if (c == ok) return true;
  return false;
}

bool isValueChar(char c) { return isAlnum(c) || c == '.' || c == '_' || c == '-'; }

// A login name as sshd compares it: no whitespace, no comma (principal lists are comma-separated
// in AuthorizedPrincipalsFile options), no quotes.
bool isPrincipalLiteralChar(char c) { return isValueChar(c) || c == '@' || c == '+'; }

bool isClaimName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!isAlnum(c) && c != '_' && c != '-') return false;
  return true;
}

// The one check every substituted value passes. `slash_ok` only for URI path positions, and
// even then each '/'-separated segment must be a real name: no empty, "." or ".." segments.
bool checkValue(std::string_view v, bool slash_ok, std::string* why, bool at_ok = false) {
  if (v.empty()) return *why = "is empty", false;
  if (v.size() > kMaxValue) return *why = "is longer than 255 characters", false;
  if (v.find("..") != std::string_view::npos) return *why = "contains '..'", false;
  for (char c : v) {
    if (isValueChar(c) || (slash_ok && c == '/') || (at_ok && c == '@')) continue;
    return *why = "contains a character outside [A-Za-z0-9._-" + std::string(slash_ok ? "/" : "") +
                  std::string(at_ok ? "@" : "") + "]",
           false;
  }
  if (slash_ok) {
    size_t start = 0;
    while (true) {
      size_t end = v.find('/', start);
      std::string_view seg = v.substr(start, end == std::string_view::npos ? v.npos : end - start);
      if (seg.empty() || seg == ".") return *why = "has an empty or '.' path segment", false;
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
  }
  return true;
}

// In a DNS template a placeholder stands for one label unless the author wrote ':dotted': a
// value like "db.payments" in "{claims.service}.svc.cluster.local" would otherwise move the
// name into a zone the author never meant to grant.
bool checkDnsLabel(std::string_view v, std::string_view placeholder, std::string* why) {
  if (v.find('.') != std::string_view::npos)
    return *why =
               "spans more than one DNS label; a placeholder in a dns_sans template is one "
               "label unless written {" +
               std::string(placeholder) + ":dotted}",
           false;
  bool chars_ok = true;
  for (char c : v) chars_ok &= isAlnum(c) || c == '-';
  if (!chars_ok || v.size() > 63 || v.front() == '-' || v.back() == '-')
    return *why =
               "is not a DNS label (letters, digits and '-', not first or last, at most 63 "
               "characters)",
           false;
  return true;
}

// Shown in denials: enough to recognise the value, never a flood of attacker-chosen bytes.
std::string quoteShort(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (v.size() > 64) out += "...";
  return "'" + out + "'";
}

}  // namespace

std::optional<SanTemplate> SanTemplate::parse(std::string_view text, Kind kind,
                                              std::string* error) {
  SanTemplate t{std::string(text), kind};
  if (text.empty()) return *error = "is empty", std::nullopt;
  if (text.size() > 1024) return *error = "is longer than 1024 characters", std::nullopt;
  // For a URI, values after the authority are in the path; before it, they are host parts.
  size_t path_start = std::string_view::npos;
  if (kind == Kind::kUri) {
    size_t colon = text.find(':');
    size_t brace = text.find('{');
    if (colon == std::string_view::npos || colon == 0 || (brace != text.npos && brace < colon) ||
        !((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z')))
      return *error = "must start with a literal URI scheme such as 'spiffe://'", std::nullopt;
    if (text.substr(colon + 1, 2) == "//") {
      path_start = text.find('/', colon + 3);  // npos: no path at all
    } else {
      path_start = colon + 1;
    }
  }
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.parts_.push_back({Source::kLiteral, std::move(literal), false});
    literal.clear();
  };
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '}') return *error = "has a '}' without a matching '{'", std::nullopt;
    if (c != '{') {
      bool ok = kind == Kind::kUri         ? isUriLiteralChar(c)
                : kind == Kind::kPrincipal ? isPrincipalLiteralChar(c)
                                           : (isLowerDnsChar(c) || c == '.');
      if (!ok)
        return *error = "contains the character " + quoteShort(text.substr(i, 1)) +
                        ", which is not allowed here",
               std::nullopt;
      literal += c;
      ++i;
      continue;
    }
    size_t close = text.find('}', i);
    size_t next_open = text.find('{', i + 1);
    if (close == text.npos || (next_open != text.npos && next_open < close))
      return *error = "has a '{' without a matching '}'", std::nullopt;
    std::string_view name = text.substr(i + 1, close - i - 1);
    Part p;
    constexpr std::string_view kDotted = ":dotted";
    if (name.size() > kDotted.size() && name.substr(name.size() - kDotted.size()) == kDotted) {
      if (kind != Kind::kDns)
        return *error = "uses ':dotted' in " + quoteShort(text.substr(i, close - i + 1)) +
                        ", which only dns_sans templates know",
               std::nullopt;
      p.multi_label = true;
      name.remove_suffix(kDotted.size());
    }
    if (name == "subject") {
      p.source = Source::kSubject;
    } else if (name == "ticket" || name == "ticket.id") {
      p.source = Source::kTicket;
    } else if (name.substr(0, 7) == "claims." && isClaimName(name.substr(7))) {
      p.source = Source::kClaim;
      p.text = std::string(name.substr(7));
    } else {
      return *error = "has an unknown placeholder " + quoteShort(text.substr(i, close - i + 1)) +
                      " (use {claims.NAME}, {subject} or {ticket}; in dns_sans optionally "
                      "{claims.NAME:dotted})",
             std::nullopt;
    }
    p.in_path = kind == Kind::kUri && path_start != text.npos && i > path_start;
    flush();
    t.parts_.push_back(std::move(p));
    i = close + 1;
  }
  flush();
  return t;
}

std::string SanTemplate::sample() const {
  std::string out;
  for (const Part& p : parts_) out += p.source == Source::kLiteral ? p.text : "x";
  return out;
}

std::optional<std::string> SanTemplate::expand(const SanContext& ctx, std::string* error) const {
  std::string out;
  for (const Part& p : parts_) {
    std::string_view value;
    std::string what, placeholder;
    switch (p.source) {
      case Source::kLiteral:
        out += p.text;
        continue;
      case Source::kSubject:
        value = ctx.subject;
        what = "the caller's subject";
        placeholder = "subject";
        break;
      case Source::kTicket:
        value = ctx.ticket;
        what = "the ticket id";
        placeholder = "ticket";
        break;
      case Source::kClaim: {
        what = "claim '" + p.text + "'";
        placeholder = "claims." + p.text;
        const boost::json::value* v = ctx.claims ? ctx.claims->if_contains(p.text) : nullptr;
        if (!v) return *error = what + " is missing from the caller's token", std::nullopt;
        if (!v->is_string()) return *error = what + " is not a string", std::nullopt;
        value = std::string_view(v->get_string().data(), v->get_string().size());
        break;
      }
    }
    std::string why;
    if (!checkValue(value, p.in_path, &why, kind_ == Kind::kPrincipal) ||
        (kind_ == Kind::kDns && !p.multi_label && !checkDnsLabel(value, placeholder, &why)))
      return *error = what + " " + (value.empty() ? "" : quoteShort(value) + " ") + why,
             std::nullopt;
    out += value;
  }
  if (out.find_first_of("{}") != std::string::npos)
    return *error = "the result still contains a brace", std::nullopt;
  if (kind_ == Kind::kPrincipal && out.size() > 255)
    return *error = "the result is longer than 255 characters", std::nullopt;
  if (kind_ == Kind::kDns && !isValidDnsName(out))
    return *error = "the result " + quoteShort(out) + " is not a valid lowercase DNS name",
           std::nullopt;
  return out;
}

bool isValidDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t end = name.find('.', start);
    std::string_view label = name.substr(start, end == name.npos ? name.npos : end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!isLowerDnsChar(c)) return false;
    if (end == name.npos) return true;
    start = end + 1;
  }
}

bool isValidSpiffeId(std::string_view uri) {
  constexpr std::string_view kScheme = "spiffe://";
  if (uri.substr(0, kScheme.size()) != kScheme || uri.size() > 2048) return false;
  std::string_view rest = uri.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == rest.npos || slash == 0)
    return false;  // a workload ID needs a trust domain and a path
  for (char c : rest.substr(0, slash))
    if (!isLowerDnsChar(c) && c != '.' && c != '_') return false;
  std::string_view path = rest.substr(slash + 1);
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view seg = path.substr(start, end == path.npos ? path.npos : end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg)
      if (!isValueChar(c)) return false;
    if (end == path.npos) return true;
    start = end + 1;
  }
}

}  // namespace jitb::policies
