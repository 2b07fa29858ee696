// The revocation of one lease's role as separate steps, each its own committed statement so a
// failure later never undoes an earlier one: the urgent steps first (no login, no membership,
// no session: run() phase kCut), then the cleanup (owned objects, the role: phase kDrop).
// Every step is harmless to repeat, so a retried job starts again from the first.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "broker/downstream/role_admin.h"

namespace jitb::downstream {

struct RevocationProgress {
  bool login_disabled = false;
  bool membership_revoked = false;
  int sessions_terminated = 0;  // over every attempt
  int sessions_remaining = -1;  // -1: not counted yet
  bool owned_dropped = false;
  bool role_dropped = false;  // verified: pg_roles has no such role
  std::string error;          // the last failed step's message, "" when none failed

  bool cut() const { return login_disabled && membership_revoked && sessions_remaining == 0; }
  bool done() const { return cut() && role_dropped; }
  boost::json::object toJson() const;
  static RevocationProgress fromJson(const boost::json::value* v);
};

class RoleRevocation {
 public:
  using Pause = std::function<void(std::chrono::milliseconds)>;
  // `pause` waits between counts of the sessions still exiting (tests pass a no-op).
  RoleRevocation(RoleAdmin& admin, std::string role, std::vector<std::string> groups,
                 Pause pause = {});

  // NOLOGIN and no password; REVOKE each group; signal every session. Stops at the first
  // failure, recorded in `p.error`. Many roles' cuts are started before any is settled, so
  // that their backends exit meanwhile.
  bool startCut(RevocationProgress& p);
  // Counts the sessions left, signalling them again, until none remain (at most `rounds`
  // counts, `pause` apart).
  bool settleCut(RevocationProgress& p, int rounds = 200);
  bool cut(RevocationProgress& p) { return startCut(p) && settleCut(p); }
  // REASSIGN/DROP OWNED, DROP ROLE, then checks pg_roles. Only after cut() succeeded.
  bool drop(RevocationProgress& p);

 private:
  bool fail(RevocationProgress& p, const char* step, const core::Status& st);

  RoleAdmin& admin_;
  std::string role_;
  std::vector<std::string> groups_;
  Pause pause_;
};

}  // namespace jitb::downstream
