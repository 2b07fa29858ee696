#include "broker/server/yaml_hints.h"

#include <gtest/gtest.h>

#include "broker/core/log.h"
#include "broker/server/config.h"

namespace jitb::server {
namespace {

std::string errorOf(const std::string& yaml) {
  auto c = parseConfig(yaml, "broker.yaml", "/etc/jitbroker");
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : c.status().message();
}

TEST(YamlHints, TabInIndentationIsNamedWithItsLine) {
  EXPECT_EQ(errorOf("listen: \"127.0.0.1:0\"\nlimits:\n\tmax_body_bytes: 5000\n"),
            "broker.yaml:3: a tab in the indentation: YAML indents with spaces only (replace the tab)");
}

TEST(YamlHints, UnclosedQuoteIsNamedRatherThanTheValueItSwallowed) {
  std::string e = errorOf("data_dir: \"/var/lib/jb\"\nlisten: '127.0.0.1:0\nthreads: 2\n");
  EXPECT_EQ(e.rfind("broker.yaml:2: the single quote at column 9 is not closed", 0), 0u) << e;
}

TEST(YamlHints, LegalQuotesAndTabsInsideValuesAreNotBlamed) {
  // A closed quote with an escaped quote, a '' inside single quotes, a tab inside a value, a
  // quote in a comment: the error is the typo, reported as before.
  std::string e = errorOf(
      "listen: \"127.0.0.1:0\"  # a \"comment\n"
      "data_dir: 'it''s\there'\n"
      "public_url: \"https://x/\\\"y\"\n"
      "limits:\n  max_bdy_bytes: 5\n");
  EXPECT_NE(e.find("broker.yaml:5: unknown key 'max_bdy_bytes'"), std::string::npos) << e;
}

TEST(YamlHints, OnlyLinesUpToTheErrorAreBlamed) {
  EXPECT_FALSE(yamlHint("a: 1\nb: \"open\n", "f", 1).has_value());
  EXPECT_EQ(yamlHint("a: 1\nb: \"open\n", "f", 2).value().rfind("f:2: the double quote", 0), 0u);
  EXPECT_EQ(errorLine("f.yaml:12: x", "f.yaml"), 12);
  EXPECT_EQ(errorLine("other: x", "f.yaml"), 0);
}

TEST(LogEvent, OneJsonObjectWithLevelComponentAndEscapedValues) {
  EXPECT_EQ(core::formatLogEvent("error", "jwks", "jwks.fetch_failed",
                                 {{"url", "https://x/\"q\""}, {"error", "a\nb"}}),
            R"({"level":"error","component":"jwks","event":"jwks.fetch_failed",)"
            R"("url":"https://x/\"q\"","error":"a\u000ab"})");
}

}  // namespace
}  // namespace jitb::server
