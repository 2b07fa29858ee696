// The policy engine's public surface: include this one header.
//   PolicySet::loadDir / parseFile  YAML policy files -> validated grants (policy_set.h)
//   evaluate()                      (policies, caller, ticket, request, now) -> Decision
#pragma once

#include "policies/engine/decision.h"
#include "policies/engine/grant.h"
#include "policies/engine/policy_set.h"
#include "policies/engine/result.h"
