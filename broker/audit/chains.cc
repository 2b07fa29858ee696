#include "broker/audit/chains.h"

#include <boost/json.hpp>

#include "broker/audit/audit_log.h"
#include "broker/audit/record_text.h"

namespace jitb::audit {

std::string genesisHashText() { return genesisHash(); }

bool ChainsVerifier::fail(std::string_view replica, int64_t seq, std::string message) {
  bad_ = true;
  failed_.replica = std::string(replica);
  failed_.bad_seq = seq;
  failed_.message = std::move(message);
  return false;
}

bool ChainsVerifier::add(std::string_view replica, int64_t seq, std::string_view line) {
  if (bad_) return false;
  auto it = chains_.find(replica);
  if (it == chains_.end()) {
    it = chains_.emplace(std::string(replica), Chain()).first;
    order_.emplace_back(replica);
  }
  Chain& c = it->second;
  // The row's own seq must be the record's: a row moved to another place in the chain fails.
  const int64_t expected = c.expected_seq;
  boost::json::value v;
  std::string why = checkChainLine(line, c.expected_prev, c.expected_seq, &v);
  if (!why.empty()) return fail(replica, seq == expected ? seq : expected, std::move(why));
  if (seq != expected)
    return fail(replica, expected, "record " + std::to_string(seq) + " stored where " +
                                       std::to_string(expected) + " was expected");
  const auto* r = v.as_object().if_contains("replica");
  if (!r || !r->is_string() || r->as_string() != replica)
    return fail(replica, seq, "the record does not name its chain's replica");
  ++c.records;
  return true;
}

void ChainsVerifier::head(std::string_view replica, int64_t last_seq, std::string_view last_hash) {
  auto it = chains_.find(replica);
  if (it == chains_.end()) {
    it = chains_.emplace(std::string(replica), Chain()).first;
    order_.emplace_back(replica);
  }
  it->second.has_head = true;
  it->second.head_seq = last_seq;
  it->second.head_hash = std::string(last_hash);
}

ChainsResult ChainsVerifier::finish() {
  if (bad_) return failed_;
  ChainsResult out;
  for (const std::string& name : order_) {
    const Chain& c = chains_.at(name);
    const int64_t last = c.expected_seq - 1;
    if (!c.has_head)
      return {false, out.chains, name, 0, "the store holds no head for this chain"};
    if (c.head_seq != last || (last > 0 && c.head_hash != c.expected_prev))
      return {false, out.chains, name, last + 1,
              "the chain ends at record " + std::to_string(last) + " but its head says " +
                  std::to_string(c.head_seq) + " (records removed from its end?)"};
    out.chains.push_back({name, c.records, last > 0 ? c.expected_prev : std::string()});
  }
  out.ok = true;
  return out;
}

}  // namespace jitb::audit
