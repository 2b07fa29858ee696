// The property of "one decision, two uses": after every step of a random sequence of ticket
// events, policy reloads, issuances and clock advances, the active leases are exactly those
// that were active before the step and that the decision still allows (none it forbids
// survives, none it allows is ended). Seeds are fixed so a failure replays.
#include <map>
#include <random>
#include <sstream>

#include "tests/unit/issuing/fixture.h"

namespace jitb::issuing {
namespace {

using namespace std::chrono_literals;
using store::LeaseState;

const char* const kPolicyVariants[] = {
    testing::kPolicies,
    // deploy wants two approvals; read only from the first issuer
    R"(grants:
  - name: deploy
    subjects: {issuer: "https://a.example"}
    tickets: {min_approvals: 2}
    token: {audience: api, scopes: [r, w], max_ttl: 1h}
  - name: read
    subjects: {issuer: "https://a.example"}
    token: {audience: read-api, max_ttl: 1h}
)",
    // no separation of duties, emergency tickets accepted by a break-glass read
    R"(grants:
  - name: deploy
    subjects: {issuer: ["https://a.example", "https://b.example"]}
    tickets: {separation_of_duties: false}
    token: {audience: api, scopes: [r, w], max_ttl: 1h}
  - name: read
    break_glass: true
    subjects: {issuer: "https://b.example"}
    tickets: {kinds: [emergency, normal], min_approvals: 0}
    token: {audience: read-api, max_ttl: 1h}
)",
    // deploy's scopes narrowed; read gone
    R"(grants:
  - name: deploy
    subjects: {issuer: "https://a.example"}
    token: {audience: api, scopes: [r], max_ttl: 1h}
)",
};

class DecisionProperty : public testing::ReviewFixture,
                         public ::testing::WithParamInterface<unsigned> {
 protected:
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  tickets::Ticket randomEvent(const std::string& id) {
    tickets::Ticket t = ticket(id, 0);
    t.updated_at = std::chrono::floor<std::chrono::seconds>(clock_.now()) + std::chrono::seconds(++version_);
    static const std::vector<std::string> states = {"approved", "approved", "approved", "approved",
                                                    "approved", "approved", "pending",  "pending",
                                                    "closed"};
    static const std::vector<std::string> kinds = {"normal", "normal", "standard", "emergency"};
    static const std::vector<std::vector<std::string>> approvers = {
        {"bob@example.com"}, {"bob@example.com", "carol@example.com"}, {},
        {"alice@example.com"}, {"s1"}, {"carol@example.com"}};
    static const std::vector<std::vector<std::string>> subjects = {{"s1", "s2"}, {"s1"}, {"s2"}};
    static const std::vector<std::vector<std::string>> access = {
        {"deploy", "read"}, {"deploy"}, {"read"}, {"read", "deploy"}};
    t.state = pick(states);
    t.kind = pick(kinds);
    t.approved_by = pick(approvers);
    t.subjects = pick(subjects);
    t.access = pick(access);
    if (chance(0.15)) t.window_end = clock_.now() + std::chrono::seconds(30);
    if (chance(0.1)) {
      t.window_start = clock_.now() + 5min;
      t.window_end = t.window_start + 1h;
    }
    return t;
  }

  // What the decision allows of a lease now, against its ticket as stored: policies::evaluate()
  // itself, asked for the lease's grant by the caller the test issued it to, with the audience
  // and scopes the token carries (not through the reviewer's own helpers).
  bool allowed(const store::LeaseRow& l) {
    auto row = store_->getTicket(l.ticket);
    if (!row.ok() || !row->has_value()) return false;
    auto t = tickets::parseStored((*row)->json);
    if (!t.ok()) return false;
    const boost::json::object token = boost::json::parse(l.claims).as_object();
    policies::IssueRequest req;
    req.grant = l.grant;
    req.audience = std::string(token.at("aud").as_string());
    std::istringstream scopes{std::string(token.at("scope").as_string())};
    for (std::string s; scopes >> s;) req.scopes.push_back(s);
    policies::CallerFacts caller{l.caller_issuer, l.subject, {{"sub", l.subject}}};
    policies::Decision d =
        policies::evaluate(*policies_.get(), caller, ticketFacts(*t), req, clock_.now());
    return d.allowed && d.grant == l.grant;
  }

  void checkInvariant(int step, const std::string& what) {
    const int64_t now = nowMs();
    for (auto& [id, e] : leases_seen_) {
      const bool expected = e.active && e.row.expires_at > now && allowed(e.row);
      const bool actual = state(id) == LeaseState::kActive;
      ASSERT_EQ(actual, expected) << "seed " << GetParam() << " step " << step << " (" << what
                                  << "): lease " << id << " of " << e.row.ticket << " grant "
                                  << e.row.grant << " subject " << e.row.subject << " issuer "
                                  << e.row.caller_issuer << ", reason " << reason(id);
      e.active = actual;
    }
  }

  struct Seen {
    store::LeaseRow row;
    bool active = true;
  };
  std::mt19937 rng_;
  int version_ = 0;
  std::map<std::string, Seen> leases_seen_;
};

TEST_P(DecisionProperty, ActiveLeasesAreExactlyThoseTheDecisionStillAllows) {
  rng_.seed(GetParam());
  setPolicies(kPolicyVariants[0]);
  const std::vector<std::string> ids = {"CHG1", "CHG2", "CHG3", "CHG4", "CHG5", "CHG6"};
  const std::vector<std::string> issuers = {"https://a.example", "https://b.example"};
  const std::vector<std::string> subs = {"s1", "s2"};
  const std::vector<std::string> grants = {"deploy", "read"};
  for (const auto& id : ids) ASSERT_TRUE(tickets_->apply(ticket(id, ++version_), "webhook").ok());
  int issued = 0, ended_by_review = 0;
  for (int step = 0; step < 200; ++step) {
    int action = std::uniform_int_distribution<int>(0, 9)(rng_);
    std::string what;
    if (action < 5) {  // issue
      const std::string& id = pick(ids);
      auto stored = tickets_->get(id);
      ASSERT_TRUE(stored.ok() && stored->has_value());
      // A few callers try, so that issuances are frequent enough to be ended later.
      for (int attempt = 0; attempt < 4; ++attempt) {
        std::string lease_id = "l" + std::to_string(step) + "-" + std::to_string(attempt);
        store::LeaseRow row;
        if (issue(lease_id, **stored, pick(issuers), pick(subs), pick(grants), &row).empty()) {
          leases_seen_[lease_id] = {row, true};
          ++issued;
        }
      }
      what = "issue";
    } else if (action < 8) {  // ticket event
      auto r = tickets_->apply(randomEvent(pick(ids)), "webhook");
      ASSERT_TRUE(r.ok()) << r.status().message();
      ended_by_review += static_cast<int>(r->revoked);
      what = "event";
    } else if (action == 8) {  // policy reload
      setPolicies(kPolicyVariants[std::uniform_int_distribution<int>(0, 3)(rng_)]);
      auto r = reviewer_->reviewAll("policy_changed");
      ASSERT_TRUE(r.ok());
      ended_by_review += static_cast<int>(*r);
      what = "reload";
    } else {  // time passes: window ends and expiries
      clock_.advance(std::chrono::seconds(std::uniform_int_distribution<int>(1, 20)(rng_)));
      leases_->processDue(nowMs());
      what = "time";
    }
    checkInvariant(step, what);
    if (HasFatalFailure()) return;
  }
  // The sequence did exercise both sides of the property.
  EXPECT_GT(issued, 5) << "seed " << GetParam();
  EXPECT_GT(ended_by_review, 0) << "seed " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Seeds, DecisionProperty, ::testing::Range(1u, 21u));

}  // namespace
}  // namespace jitb::issuing
