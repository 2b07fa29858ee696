#include "broker/downstream/role_revocation.h"

#include <algorithm>
#include <boost/json.hpp>
#include <thread>

#include "broker/downstream/crash_point.h"

namespace jitb::downstream {

namespace json = boost::json;

json::object RevocationProgress::toJson() const {
  json::object o{{"login_disabled", login_disabled},
                 {"membership_revoked", membership_revoked},
                 {"sessions_terminated", sessions_terminated},
                 {"sessions_remaining", sessions_remaining},
                 {"owned_dropped", owned_dropped},
                 {"role_dropped", role_dropped}};
  if (!error.empty()) o["error"] = error;
  return o;
}

RevocationProgress RevocationProgress::fromJson(const json::value* v) {
  RevocationProgress p;
  const json::object* o = v ? v->if_object() : nullptr;
  if (!o) return p;
  auto flag = [&](const char* k) {
    const json::value* f = o->if_contains(k);
    return f && f->is_bool() && f->as_bool();
  };
  auto number = [&](const char* k, int dflt) {
    const json::value* f = o->if_contains(k);
    return f && f->is_int64() ? static_cast<int>(f->as_int64()) : dflt;
  };
  p.login_disabled = flag("login_disabled");
  p.membership_revoked = flag("membership_revoked");
  p.sessions_terminated = number("sessions_terminated", 0);
  p.sessions_remaining = number("sessions_remaining", -1);
  p.owned_dropped = flag("owned_dropped");
  p.role_dropped = flag("role_dropped");
  return p;
}

bool RoleRevocation::fail(RevocationProgress& p, const char* step, const core::Status& st) {
  p.error = std::string(step) + ": " + (st.detail().empty() ? st.message() : st.detail());
  return false;
}

RoleRevocation::RoleRevocation(RoleAdmin& admin, std::string role, std::vector<std::string> groups,
                               Pause pause)
    : admin_(admin), role_(std::move(role)), groups_(std::move(groups)), pause_(std::move(pause)) {
  if (!pause_) pause_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

bool RoleRevocation::startCut(RevocationProgress& p) {
  if (core::Status st = admin_.disableLogin(role_); !st.ok()) return fail(p, "disable login", st);
  p.login_disabled = true;
  crashPoint("db_login_disabled");
  if (core::Status st = admin_.revokeMembership(role_, groups_); !st.ok())
    return fail(p, "revoke membership", st);
  p.membership_revoked = true;
  auto signalled = admin_.terminateSessions(role_);
  if (!signalled.ok()) return fail(p, "terminate sessions", signalled.status());
  // A retried job signals the same sessions again: count each once, as best known.
  p.sessions_terminated = std::max(p.sessions_terminated, *signalled);
  return true;
}

bool RoleRevocation::settleCut(RevocationProgress& p, int rounds) {
  // No new session can start now (NOLOGIN): the rounds wait for signalled backends to exit
  // and catch any that was still authenticating when the signal went out.
  for (int i = 0; i < rounds; ++i) {
    auto left = admin_.countSessions(role_);
    if (!left.ok()) return fail(p, "count sessions", left.status());
    p.sessions_remaining = *left;
    if (*left == 0) {
      p.error.clear();
      return true;
    }
    pause_(std::chrono::milliseconds(5));
    auto again = admin_.terminateSessions(role_);
    if (!again.ok()) return fail(p, "terminate sessions", again.status());
  }
  p.error = "terminate sessions: " + std::to_string(p.sessions_remaining) + " still open";
  return false;
}

bool RoleRevocation::drop(RevocationProgress& p) {
  if (core::Status st = admin_.dropOwned(role_); !st.ok()) return fail(p, "drop owned", st);
  p.owned_dropped = true;
  if (core::Status st = admin_.dropRole(role_); !st.ok()) return fail(p, "drop role", st);
  auto exists = admin_.roleExists(role_);
  if (!exists.ok()) return fail(p, "check role", exists.status());
  if (*exists) {
    p.error = "drop role: the role still exists";
    return false;
  }
  p.role_dropped = true;
  p.error.clear();
  return true;
}

}  // namespace jitb::downstream
