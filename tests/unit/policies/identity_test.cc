#include "policies/engine/identity.h"

#include <gtest/gtest.h>

namespace jitb::policies {
namespace {

std::string norm(std::string_view s) { return normaliseIdentity(s).value_or("<refused>"); }

IdentityProblem problem(std::string_view s) {
  IdentityProblem why = IdentityProblem::kNone;
  EXPECT_FALSE(normaliseIdentity(s, &why).has_value()) << s;
  return why;
}

TEST(Identity, PlainAddressIsLowerCased) {
  EXPECT_EQ(norm("alice@example.com"), "alice@example.com");
  EXPECT_EQ(norm("Alice@Example.COM"), "alice@example.com");
  EXPECT_EQ(norm("repo:acme/api:environment:prod"), "repo:acme/api:environment:prod");
}

TEST(Identity, SurroundingWhiteSpaceIsRemoved) {
  EXPECT_EQ(norm("alice@example.com "), "alice@example.com");
  EXPECT_EQ(norm("  alice@example.com"), "alice@example.com");
  EXPECT_EQ(norm("\u00a0alice@example.com\u00a0"), "alice@example.com");  // NBSP
  EXPECT_EQ(norm("alice@example.com\u3000"), "alice@example.com");        // ideographic space
  EXPECT_EQ(norm("alice@example.com\u2003"), "alice@example.com");        // em space
  // Only at the ends: a space inside makes another identity.
  EXPECT_EQ(norm("alice @example.com"), "alice @example.com");
}

TEST(Identity, FullwidthAndCompatibilityFormsFoldToAscii) {
  EXPECT_EQ(norm("\uff41lice@example.com"), "alice@example.com");  // fullwidth a
  EXPECT_EQ(norm("\uff21LICE@\uff25xample.com"), "alice@example.com");
  EXPECT_EQ(norm("\u2460"), "1");             // circled digit one
  EXPECT_EQ(norm("\ufb01nance"), "finance");  // fi ligature
}

TEST(Identity, CaseFoldingGoesBeyondAscii) {
  EXPECT_EQ(norm("STRASSE"), norm("stra\u00dfe"));  // sharp s folds to ss
  EXPECT_EQ(norm("\u00c9lodie"), norm("\u00e9lodie"));
  EXPECT_EQ(norm("\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3"),
            norm("\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2"));  // final sigma
}

TEST(Identity, CombiningSequencesEqualTheirPrecomposedForm) {
  EXPECT_EQ(norm("e\u0301lodie@example.com"), norm("\u00e9lodie@example.com"));
  EXPECT_EQ(norm("E\u0301LODIE@example.com"), "\u00e9lodie@example.com");
  EXPECT_EQ(norm("\u212b"), norm("\u00e5"));  // angstrom sign
}

TEST(Identity, ControlAndFormatCharactersAreRefusedAnywhere) {
  EXPECT_EQ(problem("alice@example.com\u200b"), IdentityProblem::kControlOrFormat);  // ZWSP
  EXPECT_EQ(problem("al\u200bice@example.com"), IdentityProblem::kControlOrFormat);
  EXPECT_EQ(problem("\u202ealice@example.com"), IdentityProblem::kControlOrFormat);  // RLO
  EXPECT_EQ(problem("alice@example.com\u200e"), IdentityProblem::kControlOrFormat);  // LRM
  EXPECT_EQ(problem("\ufeffalice"), IdentityProblem::kControlOrFormat);              // BOM
  EXPECT_EQ(problem("ali\u00adce"), IdentityProblem::kControlOrFormat);              // soft hyphen
  // White space that is also Cc is refused, not trimmed.
  EXPECT_EQ(problem("alice@example.com\t"), IdentityProblem::kControlOrFormat);
  EXPECT_EQ(problem("alice@example.com\n"), IdentityProblem::kControlOrFormat);
  EXPECT_EQ(problem("alice\u0085"), IdentityProblem::kControlOrFormat);  // NEL
  EXPECT_EQ(problem(std::string_view("ali\0ce", 6)), IdentityProblem::kControlOrFormat);
  EXPECT_EQ(problem("\x7f"), IdentityProblem::kControlOrFormat);
}

TEST(Identity, InvalidUtf8IsRefused) {
  EXPECT_EQ(problem("alice\xff"), IdentityProblem::kInvalidUtf8);
  EXPECT_EQ(problem("alice\xc3"), IdentityProblem::kInvalidUtf8);  // truncated
  EXPECT_EQ(problem("\xc0\xa0"
                    "alice"),
            IdentityProblem::kInvalidUtf8);  // overlong space
  EXPECT_EQ(problem("\xed\xa0\x80"
                    "alice"),
            IdentityProblem::kInvalidUtf8);                               // a surrogate
  EXPECT_EQ(problem("\xf4\x90\x80\x80"), IdentityProblem::kInvalidUtf8);  // above U+10FFFF
}

TEST(Identity, NothingLeftIsRefused) {
  EXPECT_EQ(problem(""), IdentityProblem::kEmpty);
  EXPECT_EQ(problem("   "), IdentityProblem::kEmpty);
  EXPECT_EQ(problem("\u00a0\u3000"), IdentityProblem::kEmpty);
}

TEST(Identity, NormalisedFormIsStable) {
  for (const char* s : {"Alice@Example.com ", "\uff41lice", "e\u0301", "STRASSE", "\u00a8x"}) {
    std::string once = norm(s);
    EXPECT_EQ(norm(once), once) << s;
  }
}

TEST(Identity, ProblemTextsCompleteASentence) {
  EXPECT_STREQ(identityProblemText(IdentityProblem::kInvalidUtf8), "is not valid UTF-8");
  EXPECT_NE(std::string(identityProblemText(IdentityProblem::kControlOrFormat)).find("control"),
            std::string::npos);
}

}  // namespace
}  // namespace jitb::policies
