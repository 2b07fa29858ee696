#include "broker/core/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace jitb::core {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jitb-files-" + randomHex(6));
    ASSERT_TRUE(ensureDir(dir_.string()).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  static unsigned mode(const fs::path& p) {
    struct stat st{};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777;
  }
  fs::path dir_;
};

TEST_F(FilesTest, EnsureDirCreatesOwnerOnlyDirectory) {
  fs::path sub = dir_ / "a" / "b";
  ASSERT_TRUE(ensureDir(sub.string()).ok());
  EXPECT_TRUE(fs::is_directory(sub));
  EXPECT_EQ(mode(sub), 0700u);
}

TEST_F(FilesTest, AtomicWriteReplacesAndSetsMode) {
  fs::path p = dir_ / "f";
  ASSERT_TRUE(writeFileAtomic(p.string(), "one", 0600).ok());
  ASSERT_TRUE(writeFileAtomic(p.string(), "two", 0600).ok());
  EXPECT_EQ(*readFile(p.string()), "two");
  EXPECT_EQ(mode(p), 0600u);
  // No temp files left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

// The broker runs with umask 077; a file meant to be public (the CA bundle) must still get
// 0644, and a loose umask must not widen an owner-only file.
TEST_F(FilesTest, AtomicWriteSetsExactlyTheModeWhateverTheUmask) {
  mode_t old = ::umask(077);
  Status pub = writeFileAtomic((dir_ / "public").string(), "pem", 0644);
  ::umask(000);
  Status priv = writeFileAtomic((dir_ / "private").string(), "key", 0600);
  ::umask(old);
  ASSERT_TRUE(pub.ok() && priv.ok());
  EXPECT_EQ(mode(dir_ / "public"), 0644u);
  EXPECT_EQ(mode(dir_ / "private"), 0600u);
}

TEST_F(FilesTest, SecretIsCreatedOnceWithMode0600AndReused) {
  fs::path p = dir_ / "admin.token";
  auto first = readOrCreateSecret(p.string());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 64u);
  EXPECT_EQ(mode(p), 0600u);
  auto second = readOrCreateSecret(p.string());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
}

TEST_F(FilesTest, ShortOrEmptySecretIsRefusedNotReplaced) {
  for (const char* text : {"abc\n", " \r\n"}) {
    fs::path p = dir_ / "weak";
    ASSERT_TRUE(writeFileAtomic(p.string(), text).ok());
    auto s = readOrCreateSecret(p.string());
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(*readFile(p.string()), text);
  }
}

TEST_F(FilesTest, TrimmedFileLosesTrailingNewlinesCarriageReturnsAndSpaces) {
  fs::path p = dir_ / "token";
  ASSERT_TRUE(writeFileAtomic(p.string(), "  abc def \r\n\n ").ok());
  auto t = readTrimmedFile(p.string());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*t, "  abc def");  // leading and inner white space is the value's own
}

TEST_F(FilesTest, TrimmedFileRefusesWhatIsEmptyOnceTrimmed) {
  fs::path p = dir_ / "empty";
  ASSERT_TRUE(writeFileAtomic(p.string(), "\n \r\n").ok());
  core::Status st = readTrimmedFile(p.string()).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), p.string() + " is empty");
}

TEST_F(FilesTest, TrimmedFileThatCannotBeReadIsNotFound) {
  auto t = readTrimmedFile((dir_ / "absent").string());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kNotFound);
  EXPECT_NE(t.status().message().find("cannot read"), std::string::npos);
}

TEST(RandomHex, HasRequestedLengthAndVaries) {
  std::string a = randomHex(16), b = randomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(randomHex(0), "");  // the floor of timeOrderedHex; UBSan checks the empty copy
}

TEST(RandomBytes, NeverRepeatAcrossPoolRefillsOrThreads) {
  // 10-byte draws: 3,000 per thread cross the 4 KiB pool's refill seven times.
  std::vector<std::string> a, b;
  auto draw = [](std::vector<std::string>& out) {
    for (int i = 0; i < 3000; ++i) {
      unsigned char v[10];
      randomBytes(v, sizeof v);
      out.emplace_back(reinterpret_cast<char*>(v), sizeof v);
    }
  };
  std::thread t([&] { draw(b); });
  draw(a);
  t.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 6000u);
  // Every byte value turns up (60,000 bytes: a fixed or short-cycled pool would not).
  std::set<unsigned char> values;
  for (const auto& v : a) values.insert(v.begin(), v.end());
  for (const auto& v : b) values.insert(v.begin(), v.end());
  EXPECT_EQ(values.size(), 256u);
  // More than a pool at once comes straight from the CSPRNG.
  std::vector<unsigned char> big(10000), big2(10000);
  randomBytes(big.data(), big.size());
  randomBytes(big2.data(), big2.size());
  EXPECT_NE(big, big2);
}

}  // namespace
}  // namespace jitb::core
