#include "policies/engine/identity.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <limits>

namespace jitb::policies {

namespace {

std::optional<std::string> refuse(IdentityProblem p, IdentityProblem* why) {
  if (why) *why = p;
  return std::nullopt;
}

// Printable ASCII has no Cc or Cf, is its own NFKC form, and case-folds to its lower case: the
// usual e-mail address or `sub` is settled without converting to UTF-16 (evaluation normalises
// every identity of the ticket for every token request).
bool printableAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

icu::UnicodeString trimmed(const icu::UnicodeString& u) {
  int32_t b = 0, e = u.length();
  while (b < e) {
    UChar32 c = u.char32At(b);
    if (!u_isUWhiteSpace(c)) break;
    b += U16_LENGTH(c);
  }
  while (e > b) {
    UChar32 c = u.char32At(e - 1);  // the whole code point when e - 1 is a trail surrogate
    if (!u_isUWhiteSpace(c)) break;
    e -= U16_LENGTH(c);
  }
  return icu::UnicodeString(u, b, e - b);
}

}  // namespace

const char* identityProblemText(IdentityProblem p) {
  switch (p) {
    case IdentityProblem::kNone:
      return "is valid";
    case IdentityProblem::kInvalidUtf8:
      return "is not valid UTF-8";
    case IdentityProblem::kControlOrFormat:
      return "holds control or format characters (such as tabs, zero-width spaces or bidi marks)";
    case IdentityProblem::kEmpty:
      return "is empty once white space is removed";
    case IdentityProblem::kUnnormalisable:
      return "could not be normalised";
  }
  return "is not usable";
}

std::optional<std::string> normaliseIdentity(std::string_view raw, IdentityProblem* why) {
  if (why) *why = IdentityProblem::kNone;
  if (printableAscii(raw)) {
    size_t b = raw.find_first_not_of(' ');
    if (b == std::string_view::npos) return refuse(IdentityProblem::kEmpty, why);
    size_t e = raw.find_last_not_of(' ');
    std::string out(raw.substr(b, e - b + 1));
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  }
  if (raw.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return refuse(IdentityProblem::kUnnormalisable, why);
  // Decoded by hand rather than with UnicodeString::fromUTF8, which would quietly replace
  // ill-formed bytes with U+FFFD: two different byte strings must not become one identity.
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const auto n = static_cast<int32_t>(raw.size());
  icu::UnicodeString u;
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return refuse(IdentityProblem::kInvalidUtf8, why);
    // Checked before trimming: a tab or newline is refused, not trimmed, wherever it is.
    const int8_t type = u_charType(c);
    if (type == U_CONTROL_CHAR || type == U_FORMAT_CHAR)
      return refuse(IdentityProblem::kControlOrFormat, why);
    u.append(c);
  }
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(ec);
  if (U_FAILURE(ec)) return refuse(IdentityProblem::kUnnormalisable, why);
  icu::UnicodeString folded = nfkc_cf->normalize(trimmed(u), ec);
  if (U_FAILURE(ec)) return refuse(IdentityProblem::kUnnormalisable, why);
  // Again after folding: a compatibility form may begin with a space (U+00A8 is U+0020 U+0308).
  folded = trimmed(folded);
  if (folded.isEmpty()) return refuse(IdentityProblem::kEmpty, why);
  std::string out;
  folded.toUTF8String(out);
  return out;
}

}  // namespace jitb::policies
