// ChainsVerifier: several replicas' chains, fed interleaved as a store returns them.
#include <gtest/gtest.h>

#include <map>

#include "broker/audit/chains.h"
#include "broker/audit/record_text.h"

namespace jitb::audit {
namespace {

struct Written {
  std::string replica;
  int64_t seq;
  std::string line;
};

// Records of replicas "a" and "b" appended in turn, as two replicas sharing a store do.
class Chains : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 4; ++i)
      for (const char* r : {"a", "b"}) append(r, "e" + std::to_string(i));
  }
  void append(const std::string& replica, const std::string& event) {
    auto& [seq, hash] = heads_[replica];
    if (hash.empty()) hash = genesisHash();
    std::string prev = hash;
    std::string body = recordBody({event, {{"n", seq}}}, core::TimePoint{});
    rows_.push_back({replica, ++seq, chainLine(body, seq, ",\"replica\":\"" + replica + "\"", prev, hash)});
  }
  ChainsResult verify() {
    ChainsVerifier v;
    for (const auto& w : rows_)
      if (!v.add(w.replica, w.seq, w.line)) break;
    for (const auto& [r, h] : heads_) v.head(r, h.first, h.second);
    return v.finish();
  }
  std::vector<Written> rows_;
  std::map<std::string, std::pair<int64_t, std::string>> heads_;
};

TEST_F(Chains, InterleavedReplicasEachFormAWholeChain) {
  ChainsResult r = verify();
  ASSERT_TRUE(r.ok) << r.message;
  ASSERT_EQ(r.chains.size(), 2u);
  EXPECT_EQ(r.chains[0].replica, "a");
  EXPECT_EQ(r.chains[0].records, 4);
  EXPECT_EQ(r.chains[1].records, 4);
  EXPECT_EQ(r.chains[1].last_hash, heads_["b"].second);
}

TEST_F(Chains, AnEditedRecordIsNamedWithItsReplicaAndSeq) {
  std::string& line = rows_[5].line;  // b's third record
  line.replace(line.find("\"e2\""), 4, "\"e7\"");
  ChainsResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.replica, "b");
  EXPECT_EQ(r.bad_seq, 3);
}

TEST_F(Chains, ARemovedRecordIsFound) {
  rows_.erase(rows_.begin() + 2);  // a's second
  ChainsResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.replica, "a");
  EXPECT_EQ(r.bad_seq, 2);
}

TEST_F(Chains, ARemovedFirstRecordIsFound) {
  rows_.erase(rows_.begin());  // a's first: the chain must start from the genesis hash
  ChainsResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.replica, "a");
}

TEST_F(Chains, ARemovedLastRecordIsFoundByTheHead) {
  rows_.pop_back();  // b's last
  ChainsResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.replica, "b");
  EXPECT_NE(r.message.find("head"), std::string::npos) << r.message;
}

TEST_F(Chains, ARecordFiledUnderAnotherReplicaIsFound) {
  // b's chain extended by a record whose text names a (hash and links fine for b's chain).
  auto& [seq, hash] = heads_["b"];
  std::string prev = hash;
  rows_.push_back({"b", ++seq,
                   chainLine(recordBody({"x", {}}, core::TimePoint{}), seq, ",\"replica\":\"a\"",
                             prev, hash)});
  ChainsResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("replica"), std::string::npos) << r.message;
}

TEST_F(Chains, AChainWithoutAHeadFails) {
  heads_.erase("a");
  EXPECT_FALSE(verify().ok);
}

// The file log and the store write records by the same rule: a file line verifies as a chain.
TEST(RecordText, TheFileLogsLinesAreChainLines) {
  std::string hash, prev = genesisHash();
  std::string line = chainLine(recordBody({"ticket.received", {{"ticket", "T1"}}}, core::TimePoint{}), 1, "", prev, hash);
  EXPECT_EQ(line.rfind("{\"seq\":1,\"time\":\"", 0), 0u) << line;
  std::string expected_prev = genesisHash();
  int64_t expected_seq = 1;
  EXPECT_EQ(checkChainLine(line, expected_prev, expected_seq), "");
  EXPECT_EQ(expected_prev, hash);
  EXPECT_EQ(expected_seq, 2);
}

}  // namespace
}  // namespace jitb::audit
