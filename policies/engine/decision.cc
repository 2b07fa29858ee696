#include "policies/engine/decision.h"

namespace jitb::policies {

namespace {

// `s` as a JSON string, escaped as Boost.JSON's serializer escapes (quote, backslash, control
// characters; other bytes as they are), so the audit log's lines read as before. `s` is UTF-8:
// the broker refuses other bytes where they come in (http::parseForm, the JSON parsers).
void appendQuoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace

std::string Decision::basisText() const {
  std::string o;
  o.reserve(160 + 170 * basis.size());
  o += "{\"policy_file\":";
  appendQuoted(o, policy_file);
  o += ",\"grant\":";
  appendQuoted(o, grant);
  o += allowed ? ",\"allowed\":true" : ",\"allowed\":false";
  o += ",\"failed_rule\":";
  appendQuoted(o, failed_rule);
  o += break_glass ? ",\"break_glass\":true" : ",\"break_glass\":false";
  o += ",\"rules\":[";
  for (size_t i = 0; i < basis.size(); ++i) {
    const RuleOutcome& r = basis[i];
    o += i ? ",{\"rule\":" : "{\"rule\":";
    appendQuoted(o, r.rule);
    o += r.passed ? ",\"passed\":true,\"detail\":" : ",\"passed\":false,\"detail\":";
    appendQuoted(o, r.detail);
    if (!r.grant.empty()) {
      o += ",\"grant\":";
      appendQuoted(o, r.grant);
    }
    o += '}';
  }
  o += "]}";
  return o;
}

}  // namespace jitb::policies
