#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "policies/engine/policy.h"

namespace jitb::policies {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "jitb-policies-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = (fs::path(path_) / name).string();
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::string path_;
};

std::string grantYaml(const std::string& name, const std::string& audience = "x") {
  return "grants:\n  - name: " + name + "\n    token: {audience: " + audience + "}\n";
}

TEST(PolicyLoadDir, LoadsYamlAndYmlInNameOrder) {
  TempDir d;
  ASSERT_FALSE(d.path().empty());
  d.write("b.yml", grantYaml("second"));
  d.write("a.yaml", grantYaml("first"));
  d.write("c.yaml", grantYaml("third"));
  d.write("notes.txt", "not: [policy");
  d.write(".hidden.yaml", "broken: [");
  d.write("a.yaml~", "broken: [");
  auto p = PolicySet::loadDir(d.path());
  ASSERT_TRUE(p.ok()) << p.error().toString();
  ASSERT_EQ(p.value().size(), 3u);
  EXPECT_EQ(p.value().grants()[0].name, "first");
  EXPECT_EQ(p.value().grants()[1].name, "second");
  EXPECT_EQ(p.value().grants()[2].name, "third");
  EXPECT_EQ(p.value().find("second")->file, (fs::path(d.path()) / "b.yml").string());
  EXPECT_EQ(p.value().files().size(), 3u);
}

TEST(PolicyLoadDir, DuplicateGrantAcrossFilesNamesBothPlaces) {
  TempDir d;
  std::string a = d.write("a.yaml", grantYaml("deploy"));
  std::string b = d.write("b.yaml", "grants:\n  - name: other\n    token: {audience: y}\n" +
                                        grantYaml("deploy").substr(8));
  auto p = PolicySet::loadDir(d.path());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().file, b);
  EXPECT_EQ(p.error().line, 4);
  EXPECT_EQ(p.error().key, "grants[1].name");
  EXPECT_EQ(p.error().toString(),
            b + ":4: duplicate grant name 'deploy' (first defined at " + a + ":2)");
}

TEST(PolicyLoadDir, OneBrokenFileFailsTheWholeFolder) {
  TempDir d;
  d.write("a.yaml", grantYaml("good"));
  std::string bad =
      d.write("b.yaml", "grants:\n  - name: bad\n    token: {audience: x, ttl: 1h}\n");
  auto p = PolicySet::loadDir(d.path());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().toString(), bad + ":3: unknown key 'ttl' in 'grants[0].token'");
}

TEST(PolicyLoadDir, EmptyOrMissingFolderIsAnError) {
  TempDir d;
  auto empty = PolicySet::loadDir(d.path());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().file, d.path());
  EXPECT_NE(empty.error().message.find("no *.yaml"), std::string::npos);
  d.write("README.md", "# nothing");
  EXPECT_FALSE(PolicySet::loadDir(d.path()).ok());
  auto missing = PolicySet::loadDir(d.path() + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().toString().find("not a readable policy folder"), std::string::npos);
}

TEST(PolicyLoadDir, ShippedDefaultPoliciesParse) {
  auto p = PolicySet::loadDir(std::string(JITB_SOURCE_DIR) + "/policies/default");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  const Grant* deploy = p.value().find("deploy");
  const Grant* service = p.value().find("service");
  const Grant* bg = p.value().find("breakglass-admin");
  ASSERT_TRUE(deploy && service && bg);
  EXPECT_EQ(deploy->token->audience, "deploy-api");
  EXPECT_EQ(service->certificate->profile, CertProfile::kSpiffe);
  EXPECT_FALSE(service->token.has_value());
  EXPECT_TRUE(bg->break_glass);
  EXPECT_EQ(bg->kinds, (std::vector<std::string>{"emergency"}));
  EXPECT_EQ(bg->min_approvals, 0);
  EXPECT_LE(bg->token->max_ttl, std::chrono::hours(1));
  EXPECT_LE(bg->certificate->max_ttl, std::chrono::hours(1));
}

}  // namespace
}  // namespace jitb::policies
