#include "policies/engine/decision.h"

#include <boost/json/array.hpp>

namespace jitb::policies {

boost::json::object Decision::basisJson() const {
  boost::json::object o;
  o["policy_file"] = policy_file;
  o["grant"] = grant;
  o["allowed"] = allowed;
  o["failed_rule"] = failed_rule;
  o["break_glass"] = break_glass;
  boost::json::array rules;
  for (const RuleOutcome& r : basis) {
    boost::json::object e;
    e["rule"] = r.rule;
    e["passed"] = r.passed;
    e["detail"] = r.detail;
    if (!r.grant.empty()) e["grant"] = r.grant;
    rules.push_back(std::move(e));
  }
  o["rules"] = std::move(rules);
  return o;
}

}  // namespace jitb::policies
