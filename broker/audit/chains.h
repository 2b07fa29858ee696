// Checking the store's audit chains (one per replica, see store/postgres/pg_audit.h): each is
// a whole chain, from seq 1 after the genesis hash, every record naming its replica, and it
// ends where the store's head of that chain says. The head catches a record removed from the
// end, which a chain alone cannot show.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace jitb::audit {

std::string genesisHashText();  // audit::genesisHash() by value, for the header's initializer

struct ChainSummary {
  std::string replica;
  int64_t records = 0;
  std::string last_hash;
};

struct ChainsResult {
  bool ok = false;
  std::vector<ChainSummary> chains;  // those checked, in the order met
  std::string replica;               // when !ok: the chain that failed
  int64_t bad_seq = 0;               // the record that failed (0: the chain as a whole)
  std::string message;
};

// Fed each chain's records in seq order (chains one after another or interleaved), then the
// heads; finish() says whether every chain is whole.
class ChainsVerifier {
 public:
  // False once a record failed (the rest is not checked).
  bool add(std::string_view replica, int64_t seq, std::string_view line);
  // The store's head of a chain: its last seq and hash.
  void head(std::string_view replica, int64_t last_seq, std::string_view last_hash);
  ChainsResult finish();

 private:
  struct Chain {
    std::string expected_prev = genesisHashText();
    int64_t expected_seq = 1;
    int64_t records = 0;
    bool has_head = false;
    int64_t head_seq = 0;
    std::string head_hash;
  };
  bool fail(std::string_view replica, int64_t seq, std::string message);
  std::map<std::string, Chain, std::less<>> chains_;
  std::vector<std::string> order_;
  ChainsResult failed_;
  bool bad_ = false;
};

}  // namespace jitb::audit
