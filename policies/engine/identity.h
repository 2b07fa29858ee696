// People and subjects as they are compared: a ticket's requester, approvers and subjects and a
// caller's `sub` name the same person whenever their normalised forms are equal. Without this,
// "alice@example.com " or a fullwidth "ａlice@example.com" would pass separation of duties as
// someone other than alice, and two spellings of bob would count as two approvals.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jitb::policies {

enum class IdentityProblem {
  kNone,
  kInvalidUtf8,      // not well-formed UTF-8 (overlong forms, surrogates, truncated sequences)
  kControlOrFormat,  // a Cc or Cf code point anywhere: tab, newline, zero-width space, bidi mark
  kEmpty,            // nothing left once white space is removed
  kUnnormalisable,   // ICU could not normalise it (its data missing, or over 2 GiB)
};

// "is not valid UTF-8", "holds control or format characters", "is empty": completes a sentence
// that names the field.
const char* identityProblemText(IdentityProblem p);

// The comparable form of an identity: Unicode White_Space removed at both ends, then NFKC with
// case folding (NFKC_Casefold), then white space trimmed again (a compatibility form may end in
// a space). nullopt, with the reason in *why, when the text is refused (see IdentityProblem);
// a refused identity never equals anything. Pure; thread-safe.
std::optional<std::string> normaliseIdentity(std::string_view raw, IdentityProblem* why = nullptr);

}  // namespace jitb::policies
