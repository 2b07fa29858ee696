// docs/configuration.md must list every key the config parser accepts, and no other: a key
// added to the parser without a line in the doc (or a documented key the parser refuses)
// fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "broker/server/config.h"
#include "policies/engine/policy_set.h"

namespace jitb::server {
namespace {

// The first code span of each table row's first cell: "| `limits.read_timeout` | ..." .
std::set<std::string> documentedKeys(const std::string& markdown) {
  std::set<std::string> out;
  std::istringstream in(markdown);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    size_t end = line.find('`', 3);
    if (end != std::string::npos) out.insert(line.substr(3, end - 3));
  }
  return out;
}

std::string readDoc() {
  std::ifstream f(std::string(JITB_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(ConfigDoc, ListsExactlyTheKeysTheParserAccepts) {
  std::string doc = readDoc();
  ASSERT_FALSE(doc.empty()) << "docs/configuration.md is missing";
  std::set<std::string> documented = documentedKeys(doc);
  std::set<std::string> accepted;
  for (const auto& k : configKeys()) accepted.insert(k);
  for (const auto& k : accepted)
    EXPECT_TRUE(documented.count(k)) << "docs/configuration.md does not document '" << k << "'";
  for (const auto& k : documented)
    EXPECT_TRUE(accepted.count(k)) << "docs/configuration.md documents '" << k
                                   << "', which the config parser does not accept";
}

TEST(ConfigDoc, ProductionExampleParses) {
  std::string doc = readDoc();
  size_t start = doc.find("```yaml\nlisten:");
  ASSERT_NE(start, std::string::npos) << "the production broker.yaml example is missing";
  start += 8;
  size_t end = doc.find("```", start);
  auto cfg = parseConfig(doc.substr(start, end - start), "configuration.md", "/etc/jitbroker");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->trust.size(), 3u);
  EXPECT_TRUE(cfg->servicenow.has_value());
  EXPECT_TRUE(cfg->hooks.has_value());
}

TEST(ConfigDoc, ProductionPolicyExampleNamesItsIssuers) {
  // Three trust entries: every grant of the example must name its issuer(s).
  std::string doc = readDoc();
  size_t start = doc.find("```yaml\ngrants:");
  ASSERT_NE(start, std::string::npos);
  start += 8;
  auto set = policies::PolicySet::parseFile(doc.substr(start, doc.find("```", start) - start),
                                            "configuration.md");
  ASSERT_TRUE(set.ok()) << set.error().toString();
  EXPECT_EQ(set.value().size(), 2u);
  EXPECT_FALSE(set.value().requireIssuers().has_value());
}

TEST(ConfigDoc, EveryListedKeyIsAcceptedByTheParser) {
  // configKeys() must be the parser's own lists: a config that sets a top-level listed key to
  // a value of the wrong shape is refused for its shape, never as an unknown key.
  for (const auto& k : configKeys()) {
    if (k.find('.') != std::string::npos || k.find('[') != std::string::npos) continue;
    auto r = parseConfig(k + ": [[[]]]\n", "t.yaml", "/tmp");
    ASSERT_FALSE(r.ok()) << k;
    EXPECT_EQ(r.status().message().find("unknown key"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace jitb::server
